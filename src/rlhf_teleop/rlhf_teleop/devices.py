# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Input devices as pure mappers: what a driver publishes -> a Cartesian teleoperation command.

No rclpy here: the node hands over plain numbers (Twist fields as 6 floats, Joy axes and buttons as
lists) and a monotonic time in seconds. Conventions:

- A command twist is ``[vx, vy, vz, wx, wy, wz]`` in m/s and rad/s in the robot's base (world) frame.
- Device axes are normalised to about [-1, 1] (the spacenav driver divides by its ``full_scale``;
  the ``joy`` node reports sticks in [-1, 1]). A deadband removes the drift of a device at rest and
  the remaining range is rescaled so that motion starts smoothly at the edge of the deadband.
- Buttons act on their press edge (0 -> 1), so a button held down does one thing once.

Episode requests a device can emit (the episode manager decides what they mean in its state):
``'toggle'`` (start when idle, stop with success when recording), ``'failure'``, ``'discard'``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
import math

import numpy as np

TOGGLE = 'toggle'
FAILURE = 'failure'
DISCARD = 'discard'
EPISODE_REQUESTS = (TOGGLE, FAILURE, DISCARD)
DEVICES = ('spacemouse', 'gamepad', 'keyboard', 'pose', 'expert')


@dataclass
class DeviceOutput:
    """What a device asks for in one control tick."""

    twist: np.ndarray = field(default_factory=lambda: np.zeros(6))
    gripper_toggle: bool = False
    episode_requests: list = field(default_factory=list)


def apply_deadband(values, deadband):
    """Zero values with ``|v| <= deadband`` and rescale the rest so the output is continuous in [-1, 1]."""
    values = np.clip(np.asarray(values, dtype=float), -1.0, 1.0)
    if deadband <= 0.0:
        return values
    if deadband >= 1.0:
        raise ValueError(f'deadband must be in [0, 1), got {deadband}')
    magnitude = np.maximum(np.abs(values) - deadband, 0.0) / (1.0 - deadband)
    return np.sign(values) * magnitude


def scale_twist(normalised, max_linear_speed, max_angular_speed):
    """Map a normalised 6-vector in [-1, 1] to a twist limited to the maximum speeds."""
    normalised = np.asarray(normalised, dtype=float)
    return np.concatenate([normalised[:3] * max_linear_speed, normalised[3:6] * max_angular_speed])


@dataclass
class ButtonMap:
    """Which Joy button does what (index into ``Joy.buttons``; -1 = not mapped).

    ``long_press_discard_s`` > 0 makes a long press of the episode button a discard (for devices with
    few buttons, like the two-button SpaceMouse); a short press is then reported on release.
    """

    gripper: int = 0
    episode: int = 1
    failure: int = -1
    discard: int = -1
    long_press_discard_s: float = 0.0


class ButtonDecoder:
    """Turn successive ``Joy.buttons`` samples into gripper toggles and episode requests."""

    def __init__(self, button_map: ButtonMap):
        self.map = button_map
        self._previous = []
        self._episode_pressed_at = None
        self._long_press_fired = False

    def _pressed(self, buttons, index):
        return 0 <= index < len(buttons) and bool(buttons[index])

    def update(self, buttons: Sequence[int], now: float) -> DeviceOutput:
        """Decode one Joy sample (``now`` in seconds, monotonic); return the actions of its edges."""
        out = DeviceOutput()
        previous = self._previous

        def edge(index):
            was = 0 <= index < len(previous) and bool(previous[index])
            return self._pressed(buttons, index) and not was

        if edge(self.map.gripper):
            out.gripper_toggle = True
        if edge(self.map.failure):
            out.episode_requests.append(FAILURE)
        if edge(self.map.discard):
            out.episode_requests.append(DISCARD)
        episode_down = self._pressed(buttons, self.map.episode)
        if self.map.long_press_discard_s <= 0.0:
            if edge(self.map.episode):
                out.episode_requests.append(TOGGLE)
        else:
            out.episode_requests.extend(self._long_press(episode_down, now))
        self._previous = list(buttons)
        return out

    def poll(self, now: float) -> list:
        """Fire a long press that crossed its threshold while no new Joy sample arrived."""
        if self.map.long_press_discard_s <= 0.0:
            return []
        return self._long_press(self._pressed(self._previous, self.map.episode), now)

    def _long_press(self, down, now):
        requests = []
        if down and self._episode_pressed_at is None:
            self._episode_pressed_at, self._long_press_fired = now, False
        elif down and not self._long_press_fired and now - self._episode_pressed_at >= self.map.long_press_discard_s:
            self._long_press_fired = True
            requests.append(DISCARD)
        elif not down and self._episode_pressed_at is not None:
            if not self._long_press_fired:
                requests.append(TOGGLE)
            self._episode_pressed_at = None
        return requests


class SpaceMouseMapper:
    """SpaceMouse through the ``spacenav`` driver: motion from ``spacenav/twist``, buttons from ``spacenav/joy``.

    The driver publishes the same six normalised values on both topics (x forward, y left, z up, then
    rotations about them); ``spacenav/joy`` carries the buttons (2 on the common models: left, right).
    Default buttons: left toggles the gripper, right starts an episode / stops it with success, right held
    ``long_press_discard_s`` discards the running episode.
    """

    def __init__(self, max_linear_speed=0.15, max_angular_speed=0.6, deadband=0.1,
                 linear_signs=(1.0, 1.0, 1.0), angular_signs=(1.0, 1.0, 1.0),
                 buttons: ButtonMap | None = None, timeout_s=0.5):
        self.max_linear_speed = float(max_linear_speed)
        self.max_angular_speed = float(max_angular_speed)
        self.deadband = float(deadband)
        self.signs = np.array(list(linear_signs) + list(angular_signs), dtype=float)
        if self.signs.shape != (6,):
            raise ValueError('linear_signs and angular_signs need 3 values each')
        self.buttons = ButtonDecoder(buttons or ButtonMap(gripper=0, episode=1, long_press_discard_s=1.0))
        self.timeout_s = float(timeout_s)
        self._axes = np.zeros(6)
        self._axes_time = None
        self._pending = DeviceOutput()

    def on_twist(self, linear: Sequence[float], angular: Sequence[float], now: float):
        """Store one ``spacenav/twist`` sample (``linear``/``angular`` as xyz triples)."""
        self._axes = np.array(list(linear) + list(angular), dtype=float)
        self._axes_time = now

    def on_joy(self, axes: Sequence[float], buttons: Sequence[int], now: float):
        """Decode one ``spacenav/joy`` sample's buttons (axes come from the twist topic)."""
        decoded = self.buttons.update(buttons, now)
        self._pending.gripper_toggle |= decoded.gripper_toggle
        self._pending.episode_requests.extend(decoded.episode_requests)

    def command(self, now: float) -> DeviceOutput:
        """The command for this control tick; motion stops when the device has been silent ``timeout_s``."""
        out, self._pending = self._pending, DeviceOutput()
        out.episode_requests.extend(self.buttons.poll(now))
        if self._axes_time is not None and now - self._axes_time <= self.timeout_s:
            normalised = apply_deadband(self._axes * self.signs, self.deadband)
            out.twist = scale_twist(normalised, self.max_linear_speed, self.max_angular_speed)
        return out


@dataclass
class GamepadLayout:
    """Joy axis/button indices of a gamepad (defaults: Xbox controller through the ``joy`` node on Linux).

    ``linear_axes``/``angular_axes`` give for vx, vy, vz and wx, wy, wz the index into ``Joy.axes``
    (-1 = unused) and the ``*_signs`` their direction. Defaults: left stick up/left = +x/+y, right stick
    up = +z, right stick left = +yaw, d-pad = roll/pitch; A toggles the gripper, START starts / stops
    with success, B stops with failure, BACK discards.
    """

    linear_axes: tuple = (1, 0, 4)
    linear_signs: tuple = (1.0, 1.0, 1.0)
    angular_axes: tuple = (6, 7, 3)
    angular_signs: tuple = (-1.0, 1.0, 1.0)
    gripper_button: int = 0
    episode_button: int = 7
    failure_button: int = 1
    discard_button: int = 6


class GamepadMapper:
    """Gamepad through the ``joy`` node: sticks drive the end effector, buttons per :class:`GamepadLayout`."""

    def __init__(self, layout: GamepadLayout | None = None, max_linear_speed=0.15, max_angular_speed=0.6,
                 deadband=0.1, timeout_s=0.5):
        self.layout = layout or GamepadLayout()
        for name in ('linear_axes', 'linear_signs', 'angular_axes', 'angular_signs'):
            if len(getattr(self.layout, name)) != 3:
                raise ValueError(f'gamepad layout: {name} needs 3 values, got {list(getattr(self.layout, name))}')
        self.max_linear_speed = float(max_linear_speed)
        self.max_angular_speed = float(max_angular_speed)
        self.deadband = float(deadband)
        self.timeout_s = float(timeout_s)
        self.buttons = ButtonDecoder(ButtonMap(gripper=self.layout.gripper_button, episode=self.layout.episode_button,
                                               failure=self.layout.failure_button,
                                               discard=self.layout.discard_button))
        self._axes = np.zeros(6)
        self._axes_time = None
        self._pending = DeviceOutput()

    def on_joy(self, axes: Sequence[float], buttons: Sequence[int], now: float):
        """Store one ``joy`` sample."""
        indices = list(self.layout.linear_axes) + list(self.layout.angular_axes)
        signs = list(self.layout.linear_signs) + list(self.layout.angular_signs)
        self._axes = np.array([signs[i] * axes[index] if 0 <= index < len(axes) else 0.0
                               for i, index in enumerate(indices)], dtype=float)
        self._axes_time = now
        decoded = self.buttons.update(buttons, now)
        self._pending.gripper_toggle |= decoded.gripper_toggle
        self._pending.episode_requests.extend(decoded.episode_requests)

    def command(self, now: float) -> DeviceOutput:
        """The command for this control tick (the joy node republishes while a stick is held)."""
        out, self._pending = self._pending, DeviceOutput()
        if self._axes_time is not None and now - self._axes_time <= self.timeout_s:
            out.twist = scale_twist(apply_deadband(self._axes, self.deadband),
                                    self.max_linear_speed, self.max_angular_speed)
        return out


# Keyboard: one key -> (axis index in the normalised 6-vector, direction). Robot base frame.
KEY_AXES = {
    'w': (0, 1.0), 's': (0, -1.0),      # x forward / back
    'a': (1, 1.0), 'd': (1, -1.0),      # y left / right
    'r': (2, 1.0), 'f': (2, -1.0),      # z up / down
    'u': (3, 1.0), 'o': (3, -1.0),      # roll
    'i': (4, 1.0), 'k': (4, -1.0),      # pitch
    'j': (5, 1.0), 'l': (5, -1.0),      # yaw
}
# Keyboard buttons, published as Joy.buttons in this order (index = position).
KEY_BUTTONS = {' ': 0, '\r': 1, '\n': 1, 'x': 2, 'z': 3}
KEYBOARD_BUTTON_MAP = ButtonMap(gripper=0, episode=1, failure=2, discard=3)
KEYBOARD_HELP = (
    'keyboard teleop: w/s x  a/d y  r/f z  u/o roll  i/k pitch  j/l yaw  (hold; any other key stops)\n'
    '  space gripper  Enter start/stop(success)  x stop(failure)  z discard  q quit'
)


class KeyboardState:
    """Key presses in a raw terminal -> normalised axes and button pulses.

    A terminal reports key presses (auto-repeated while held) but no releases, so a motion key keeps its
    axis active for ``hold_s`` after its last repeat; ``hold_s`` must exceed the terminal's auto-repeat delay
    (about 0.5 s) for a held key to move smoothly. Any unmapped key stops all motion at once.
    """

    def __init__(self, hold_s=0.6):
        self.hold_s = float(hold_s)
        self._active = {}   # axis index -> (direction, last press time)
        self._pulses = [0, 0, 0, 0]

    def press(self, key: str, now: float) -> bool:
        """Handle one key; return False for the quit key."""
        if key in ('q', '\x03'):  # q or Ctrl-C (raw mode delivers it as a character)
            return False
        if key in KEY_AXES:
            axis, direction = KEY_AXES[key]
            self._active[axis] = (direction, now)
        elif key in KEY_BUTTONS:
            self._pulses[KEY_BUTTONS[key]] = 1
        else:
            self._active.clear()
        return True

    def axes(self, now: float) -> list:
        """The normalised 6 axes now."""
        values = [0.0] * 6
        for axis, (direction, since) in list(self._active.items()):
            if now - since <= self.hold_s:
                values[axis] = direction
            else:
                del self._active[axis]
        return values

    def buttons(self) -> list:
        """Button states for one Joy message: a pressed key is 1 in exactly one message."""
        pulses, self._pulses = self._pulses, [0, 0, 0, 0]
        return pulses


class KeyboardMapper(SpaceMouseMapper):
    """The ``keyboard_teleop`` console script publishes in the spacenav shape, with 4 buttons (see KEY_BUTTONS)."""

    def __init__(self, max_linear_speed=0.15, max_angular_speed=0.6, timeout_s=0.5):
        super().__init__(max_linear_speed, max_angular_speed, deadband=0.0, buttons=KEYBOARD_BUTTON_MAP,
                         timeout_s=timeout_s)


class GripperToggle:
    """The gripper target a toggle button flips between open and closed."""

    def __init__(self, open_m=0.04, closed_m=0.0, start_open=True):
        self.open_m, self.closed_m = float(open_m), float(closed_m)
        self.is_open = bool(start_open)

    @property
    def target(self) -> float:
        return self.open_m if self.is_open else self.closed_m

    def toggle(self) -> float:
        self.is_open = not self.is_open
        return self.target

    def reset(self):
        self.is_open = True


def quat_normalise(quat_wxyz) -> np.ndarray:
    """A unit quaternion (w, x, y, z); raises for a zero quaternion (an unset PoseStamped orientation)."""
    quat = np.asarray(quat_wxyz, dtype=float)
    norm = float(np.linalg.norm(quat))
    if not math.isfinite(norm) or norm < 1e-9:
        raise ValueError(f'orientation quaternion {quat.tolist()} has no direction (is orientation set?)')
    return quat / norm


class PoseTarget:
    """Latest ``/teleop/target_pose`` (VR controller, leader arm); older than ``timeout_s`` (> 0) it is ignored."""

    def __init__(self, timeout_s=0.5, frame_ids=('', 'world', 'base', 'panda_link0')):
        self.timeout_s = float(timeout_s)
        self.frame_ids = tuple(frame_ids)
        self.position = None
        self.quat = None
        self._time = None

    def update(self, frame_id: str, position, quat_wxyz, now: float):
        """Store a target; raises ValueError for a frame the robot base is not in, or a zero quaternion."""
        if frame_id not in self.frame_ids:
            raise ValueError(f'target pose frame_id {frame_id!r} is not one of {list(self.frame_ids)} '
                             '(targets are expected in the robot base frame)')
        self.position = np.asarray(position, dtype=float)
        self.quat = quat_normalise(quat_wxyz)
        self._time = now

    def current(self, now: float):
        """(position, quat) when a fresh target exists, else None (hold still)."""
        if self._time is None or (self.timeout_s > 0.0 and now - self._time > self.timeout_s):
            return None
        return self.position, self.quat
