# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A scripted pianist that plays a song from its fingering: the starting point SAC can be warm-started from.

It reads the song (privileged, as ``rlhf_sim.expert.ScriptedExpert`` reads object poses), not the picture:
for the next frame that wants a key, the finger the fingering names is moved over that key by the forearm's
lateral slide, and pressed by flexing its knuckle (or, for the thumb, rotating it down); the other fingers hover.

The few numbers this needs are measured on the model when the player is made (``calibrate``), not written in:
how far each fingertip moves per metre of forearm slide, where it sits at the hover pose, and, per finger and
for white and black keys, a press pose (from a short list of candidates) that presses the key under the
fingertip and no other. One hand only (``hands: right`` or ``left``).
"""

import numpy as np

HOVER_WRIST = 0.3            # wrist flexion (rad) that brings the fingertips ~3 cm above the keys
# Candidate press poses per finger kind: joint-target offsets from the hover pose (actuator suffix: value).
FINGER_PRESSES = [{'J3': 0.4, 'J0': 0.8}, {'J3': 0.6, 'J0': 0.6}, {'J3': 0.8, 'J0': 0.4}, {'J3': 0.3, 'J0': 1.2},
                  {'J3': 1.0, 'J0': 1.0}, {'J3': 0.2, 'J0': 0.4}]
# The thumb rotates down in front of the fingers, beyond the keys' front edge: the forearm also pulls back (ty).
THUMB_PRESSES = [{'THJ4': t4, 'THJ2': t2, 'forearm_ty': ty} for ty in (0.04, 0.06, 0.02)
                 for t4, t2 in ((0.6, 0.3), (0.9, 0.2), (0.6, 0.0), (1.2, 0.0), (0.3, 0.6))]
FINGER_PREFIX = ('TH', 'FF', 'MF', 'RF', 'LF')   # fingering 0..4: thumb, index, middle, ring, little
SETTLE_STEPS = 4
SLIDE_GAIN = 0.2             # slide offset learnt per control step, per metre of fingertip error (integral)
ON_KEY_M = 0.004             # a finger presses once its tip is this close (m) to the key's centre line


class FingeringPlayer:
    """``player(obs) -> action`` in [-1, 1] for ``env`` (a one-hand ``rlhf_sim.piano.PianoEnv``)."""

    def __init__(self, env, calibrate=True):
        if env.task.hands == 'both':
            raise ValueError('FingeringPlayer plays one hand; the task has hands: both')
        self.env = env
        self.task = env._composer_task
        self.hand = self.task._hand
        names = env.actuator_names
        self.index = {n: i for i, n in enumerate(names)}
        self.side = names[0][:2]
        self.low, self.high = env.actuator_range
        self.hover = np.clip(np.zeros(len(names)), self.low, self.high)
        self.hover[self.index[f'{self.side}_A_WRJ1']] = HOVER_WRIST
        self.tx = self.index[f'{self.side}_forearm_tx']
        self.slide = np.zeros(5)       # fingertip lateral position = tip_y0 + slide * forearm_tx
        self.tip_y0 = np.zeros(5)
        self.presses = {}              # (finger, is_black) -> press pose
        self._offset, self._pressing, self._tx = 0.0, None, float(self.hover[self.tx])
        self.lead = 1                 # frames ahead a finger goes down: a key takes about a step to travel
        if calibrate:
            self.calibrate()

    # -- calibration -------------------------------------------------------------------------------------
    def _settle(self, command, steps=SETTLE_STEPS):
        info = {}
        for _ in range(steps):
            *_, info = self.env.step(self.env.from_command(command))
        return info

    def _tips_y(self):
        return self.env.physics.bind(self.hand.fingertip_sites).xpos[:, 1].copy()

    def _key_y(self, key):
        return float(self.env.physics.bind(self.task.piano.keys[key]).xpos[1])

    def _pose(self, finger, press, tx, pressing=True):
        """Hover at slide ``tx`` with ``press``'s forearm placement; with ``pressing`` also its finger joints."""
        command = self.hover.copy()
        command[self.tx] = tx
        for suffix, value in (press or {}).items():
            if suffix == 'tip_y0':
                continue
            if suffix.startswith('forearm'):
                name = f'{self.side}_{suffix}'
            elif not pressing:
                continue
            elif finger == 0:
                name = f'{self.side}_A_{suffix}'
            else:
                name = f'{self.side}_A_{FINGER_PREFIX[finger]}{suffix}'
            i = self.index[name]
            command[i] = np.clip(value, self.low[i], self.high[i])
        return command

    def tx_for(self, finger, key, press=None):
        """Forearm slide that puts ``finger``'s tip over ``key`` in pose ``press`` (clipped to the slide's range)."""
        tip0 = self.tip_y0[finger] if press is None else press['tip_y0']
        tx = (self._key_y(key) - tip0) / self.slide[finger]
        return float(np.clip(tx, self.low[self.tx], self.high[self.tx]))

    def calibrate(self, seed=0):
        """Measure the slide per fingertip and pick a press pose per (finger, white/black key).

        A press pose moves the fingertip sideways too (the thumb's rotation most): its lateral position in that
        pose (``tip_y0``, at no slide) is measured, and the slide aims the pressed fingertip at the key.
        """
        env = self.env
        samples = []
        for tx in (-0.1, 0.1):
            env.reset(seed=seed)
            command = self.hover.copy()
            command[self.tx] = tx
            self._settle(command, 20)
            samples.append(self._tips_y())
        self.slide = (samples[1] - samples[0]) / 0.2
        self.tip_y0 = samples[0] + 0.1 * self.slide
        piano = self.task.piano
        for finger in range(5):
            for black in (False, True):
                probe_key = next(k for k in range(40, 60) if piano.is_key_black(k) == black)
                for press in (THUMB_PRESSES if finger == 0 else FINGER_PRESSES):
                    env.reset(seed=seed)
                    self._settle(self._pose(finger, press, 0.0), 20)
                    press = dict(press, tip_y0=float(self._tips_y()[finger]))
                    env.reset(seed=seed)
                    tx = self.tx_for(finger, probe_key, press)
                    self._settle(self._pose(finger, press, tx, pressing=False), 20)
                    info = self._settle(self._pose(finger, press, tx))
                    if list(np.flatnonzero(info['pressed'])) == [probe_key]:
                        self.presses[(finger, black)] = press
                        break
        env.reset(seed=seed)
        return self.presses

    # -- playing -----------------------------------------------------------------------------------------
    def _next_notes(self, horizon=8):
        """(notes, frames until they sound) of the next frame with notes within ``horizon`` frames."""
        notes, t = self.task._notes, self.task._t_idx
        for k in range(t, min(t + horizon, len(notes))):
            if notes[k]:
                return notes[k], k - t
        return [], horizon

    def command(self):
        """The absolute command for the frame about to be played.

        The forearm's slide is driven by the fingertip's measured position (integral action): its position
        servo alone stops short when fingers rub the keys. A finger presses only once it is over its key.
        """
        if self.task._t_idx == 0:
            self._offset, self._pressing, self._tx = 0.0, None, float(self.hover[self.tx])
        notes, wait = self._next_notes()
        if not notes:
            return self._pose(0, {}, self._tx, pressing=False)
        note = min(notes, key=lambda n: n.fingering % 5)   # one finger at a time: the first by fingering
        key = int(note.key)
        black = self.task.piano.is_key_black(key)
        # the named finger, or (when no press pose of it was found, often the thumb) the nearest one that has one
        finger = min((f for f in range(5) if (f, black) in self.presses),
                     key=lambda f: abs(f - int(note.fingering) % 5), default=int(note.fingering) % 5)
        press = self.presses.get((finger, black))
        tip = self._tips_y()[finger]
        pressed_now = self._pressing == (finger, key)
        if press is not None and not pressed_now:
            tip += press['tip_y0'] - self.tip_y0[finger]   # where the tip will be once the press pose is reached
        error = self._key_y(key) - tip
        if not pressed_now:   # a pressing finger is held by its key: its error says nothing about the slide
            self._offset += SLIDE_GAIN * error / self.slide[finger]
        tx = float(np.clip(self.tx_for(finger, key, press) + self._offset, self.low[self.tx], self.high[self.tx]))
        pressing = press is not None and wait <= self.lead and (pressed_now or abs(error) < ON_KEY_M)
        self._pressing = (finger, key) if pressing else None
        self._tx = tx
        return self._pose(finger, press, tx, pressing=pressing)

    def __call__(self, obs=None):
        return self.env.from_command(self.command()).astype(np.float32)
