# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The sound of a performance: key presses and the sustain pedal, frame by frame, rendered by FluidSynth.

A key going down starts its note (MIDI note = key + 21, a fixed velocity), going up ends it; the sustain
pedal is MIDI controller 64. The soundfont is the one robopianist ships (a General MIDI piano). FluidSynth
is Debian's ``libfluidsynth3`` (scripts/install_sound.sh) through pyfluidsynth.
"""

import numpy as np

LOWEST_MIDI_NOTE = 21        # key 0 is A0
SUSTAIN_CC = 64
VELOCITY = 80


def soundfont_path():
    from robopianist import SF2_PATH
    return str(SF2_PATH)


def key_press_audio(pressed, sustain=None, frame_s=0.05, sample_rate=22050, tail_s=0.5):
    """(T, 88) key states (+ (T,) sustain) at ``frame_s`` per frame -> int16 stereo (N, 2) PCM samples."""
    import fluidsynth
    pressed = np.asarray(pressed, dtype=bool)
    if pressed.ndim != 2 or pressed.shape[1] != 88:
        raise ValueError(f'pressed: expected (frames, 88) key states, got shape {pressed.shape}')
    sustain = np.zeros(len(pressed), bool) if sustain is None else np.asarray(sustain, dtype=bool).reshape(-1)
    synth = fluidsynth.Synth(gain=0.8, samplerate=float(sample_rate))
    try:
        font = synth.sfload(soundfont_path())
        synth.program_select(0, font, 0, 0)
        per_frame = int(round(frame_s * sample_rate))
        chunks, down, pedal = [], np.zeros(88, bool), False
        for keys, ped in zip(pressed, sustain):
            for key in np.flatnonzero(keys & ~down):
                synth.noteon(0, int(key) + LOWEST_MIDI_NOTE, VELOCITY)
            for key in np.flatnonzero(down & ~keys):
                synth.noteoff(0, int(key) + LOWEST_MIDI_NOTE)
            if ped != pedal:
                synth.cc(0, SUSTAIN_CC, 127 if ped else 0)
            down, pedal = keys.copy(), bool(ped)
            chunks.append(np.asarray(synth.get_samples(per_frame), dtype=np.int16))
        for key in np.flatnonzero(down):
            synth.noteoff(0, int(key) + LOWEST_MIDI_NOTE)
        chunks.append(np.asarray(synth.get_samples(int(tail_s * sample_rate)), dtype=np.int16))
    finally:
        synth.delete()
    return np.concatenate(chunks).reshape(-1, 2)
