# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Device mappers: deadband, scaling, button edges, long presses, gamepad layout, keyboard, pose targets."""

import numpy as np
import pytest

from rlhf_teleop.devices import (
    DISCARD,
    FAILURE,
    TOGGLE,
    ButtonDecoder,
    ButtonMap,
    GamepadLayout,
    GamepadMapper,
    GripperToggle,
    KeyboardMapper,
    KeyboardState,
    PoseTarget,
    SpaceMouseMapper,
    apply_deadband,
    scale_twist,
)


def test_deadband_zeroes_small_values_and_is_continuous():
    out = apply_deadband([0.05, -0.1, 0.1 + 1e-9, 0.55, -1.0, 1.7], 0.1)
    assert out[0] == 0.0 and out[1] == 0.0
    assert out[2] == pytest.approx(0.0, abs=1e-8)          # continuous at the edge
    assert out[3] == pytest.approx(0.5)                     # (0.55 - 0.1) / 0.9
    assert out[4] == pytest.approx(-1.0)
    assert out[5] == pytest.approx(1.0)                     # clipped to the normalised range
    with pytest.raises(ValueError):
        apply_deadband([0.5], 1.0)


def test_scale_twist_uses_linear_and_angular_limits():
    twist = scale_twist([1, -0.5, 0, 0, 0.5, -1], 0.2, 1.5)
    np.testing.assert_allclose(twist, [0.2, -0.1, 0, 0, 0.75, -1.5])


def test_spacemouse_twist_is_deadbanded_scaled_and_times_out():
    mouse = SpaceMouseMapper(max_linear_speed=0.1, max_angular_speed=0.5, deadband=0.2)
    assert not mouse.command(0.0).twist.any()               # nothing received yet: hold still
    mouse.on_twist([0.6, 0.1, -1.0], [0.0, 0.0, 0.6], now=1.0)
    twist = mouse.command(1.1).twist
    np.testing.assert_allclose(twist, [0.05, 0.0, -0.1, 0.0, 0.0, 0.25])
    assert not mouse.command(2.0).twist.any()                # driver silent for > timeout_s


def test_spacemouse_signs_flip_axes():
    mouse = SpaceMouseMapper(deadband=0.0, linear_signs=(-1, 1, 1), angular_signs=(1, 1, -1))
    mouse.on_twist([1, 0, 0], [0, 0, 1], now=0.0)
    twist = mouse.command(0.0).twist
    assert twist[0] < 0 and twist[5] < 0


def test_spacemouse_left_button_toggles_gripper_once_per_press():
    mouse = SpaceMouseMapper()
    mouse.on_joy([0] * 6, [1, 0], now=0.0)
    mouse.on_joy([0] * 6, [1, 0], now=0.1)                 # still held: no second toggle
    first = mouse.command(0.1)
    assert first.gripper_toggle and first.episode_requests == []
    assert not mouse.command(0.2).gripper_toggle            # consumed
    mouse.on_joy([0] * 6, [0, 0], now=0.3)
    mouse.on_joy([0] * 6, [1, 0], now=0.4)
    assert mouse.command(0.4).gripper_toggle


def test_spacemouse_right_button_short_press_toggles_long_press_discards():
    mouse = SpaceMouseMapper(buttons=ButtonMap(gripper=0, episode=1, long_press_discard_s=1.0))
    mouse.on_joy([0] * 6, [0, 1], now=0.0)
    assert mouse.command(0.1).episode_requests == []        # a short press acts on release
    mouse.on_joy([0] * 6, [0, 0], now=0.3)
    assert mouse.command(0.3).episode_requests == [TOGGLE]
    mouse.on_joy([0] * 6, [0, 1], now=1.0)
    assert mouse.command(1.5).episode_requests == []
    # the driver publishes only on change: the long press fires from the tick, not from a new message
    assert mouse.command(2.05).episode_requests == [DISCARD]
    mouse.on_joy([0] * 6, [0, 0], now=3.0)
    assert mouse.command(3.0).episode_requests == []        # release after a long press does nothing more


def test_button_decoder_ignores_missing_buttons():
    decoder = ButtonDecoder(ButtonMap(gripper=0, episode=1, failure=5, discard=6))
    out = decoder.update([1], now=0.0)                      # a one-button device
    assert out.gripper_toggle and out.episode_requests == []


def test_gamepad_default_xbox_layout():
    pad = GamepadMapper(max_linear_speed=0.2, max_angular_speed=1.0, deadband=0.0)
    axes = [0.0] * 8
    axes[1] = 1.0       # left stick up -> +x
    axes[0] = -0.5      # left stick right -> -y
    axes[4] = 0.25      # right stick up -> +z
    axes[3] = 1.0       # right stick left -> +yaw
    buttons = [0] * 11
    buttons[0] = 1      # A
    buttons[7] = 1      # START
    pad.on_joy(axes, buttons, now=0.0)
    out = pad.command(0.0)
    np.testing.assert_allclose(out.twist, [0.2, -0.1, 0.05, 0.0, 0.0, 1.0])
    assert out.gripper_toggle and out.episode_requests == [TOGGLE]
    buttons = [0] * 11
    buttons[1] = 1      # B
    buttons[6] = 1      # BACK
    pad.on_joy(axes, buttons, now=0.1)
    assert sorted(pad.command(0.1).episode_requests) == sorted([FAILURE, DISCARD])


def test_gamepad_custom_layout_and_validation():
    layout = GamepadLayout(linear_axes=(0, -1, 2), linear_signs=(-1.0, 1.0, 1.0), angular_axes=(-1, -1, -1),
                           gripper_button=3, episode_button=0, failure_button=-1, discard_button=-1)
    pad = GamepadMapper(layout, max_linear_speed=1.0, deadband=0.0)
    pad.on_joy([0.5, 0.9, -0.3], [0, 0, 0, 1], now=0.0)
    out = pad.command(0.0)
    np.testing.assert_allclose(out.twist, [-0.5, 0.0, -0.3, 0, 0, 0])
    assert out.gripper_toggle
    with pytest.raises(ValueError, match='linear_axes'):
        GamepadMapper(GamepadLayout(linear_axes=(0, 1)))


def test_keyboard_keys_hold_and_pulse_buttons():
    keys = KeyboardState(hold_s=0.5)
    assert keys.press('w', 0.0) and keys.press('j', 0.0)
    assert keys.axes(0.2) == [1.0, 0, 0, 0, 0, 1.0]
    assert keys.axes(0.6) == [0.0] * 6                        # released (no auto-repeat) after hold_s
    keys.press('f', 1.0)
    keys.press('.', 1.1)                                      # any other key stops at once
    assert keys.axes(1.1) == [0.0] * 6
    keys.press(' ', 2.0)
    keys.press('\r', 2.0)
    assert keys.buttons() == [1, 1, 0, 0]
    assert keys.buttons() == [0, 0, 0, 0]                     # a pulse lasts one message
    assert not keys.press('q', 3.0)


def test_keyboard_mapper_reads_the_keyboard_joy_shape():
    mapper = KeyboardMapper(max_linear_speed=0.1)
    keys = KeyboardState()
    keys.press('r', 0.0)
    keys.press('x', 0.0)
    mapper.on_twist(keys.axes(0.0)[:3], keys.axes(0.0)[3:], now=0.0)
    mapper.on_joy(keys.axes(0.0), keys.buttons(), now=0.0)
    out = mapper.command(0.0)
    np.testing.assert_allclose(out.twist, [0, 0, 0.1, 0, 0, 0])
    assert out.episode_requests == [FAILURE]


def test_gripper_toggle():
    grip = GripperToggle(open_m=0.04, closed_m=0.0)
    assert grip.target == 0.04
    assert grip.toggle() == 0.0
    assert grip.toggle() == 0.04


def test_pose_target_validates_frame_and_quaternion():
    target = PoseTarget(timeout_s=0.5)
    assert target.current(0.0) is None
    target.update('world', [0.5, 0, 0.4], [2.0, 0, 0, 0], now=0.0)
    position, quat = target.current(0.1)
    np.testing.assert_allclose(quat, [1, 0, 0, 0])
    assert target.current(1.0) is None
    with pytest.raises(ValueError, match='frame_id'):
        target.update('camera_link', [0, 0, 0], [1, 0, 0, 0], now=0.0)
    with pytest.raises(ValueError, match='orientation'):
        target.update('world', [0, 0, 0], [0, 0, 0, 0], now=0.0)
