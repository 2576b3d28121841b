# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The collection graph, described once and started two ways.

``collect_graph(args)`` turns the documented arguments (``ARGUMENTS``) into a list of ``NodeSpec``:
the simulator (unless ``sim`` is false: then the robot's own ros2_control and camera drivers are
expected), the teleop node and the recorder. ``launch/collect.launch.py`` turns the specs into
``launch_ros`` Node actions; the ``collect`` console script (the embedded default, where ``ros2 launch``
does not exist) starts them with ``run_graph``: one process per node, with the ``--ros-args`` that
``ros2 launch`` would pass.
"""

from dataclasses import dataclass, field
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml


@dataclass(frozen=True)
class GraphArgument:
    """One argument of the collection graph (a launch argument and a ``collect`` option)."""

    name: str
    default: str
    description: str


# Shared with the deployment graph (rlhf_policy.graph).
FOXGLOVE_ARGUMENT = GraphArgument('foxglove_port', '', 'port of a Foxglove live view of the graph\'s topics '
                                                       '(rlhf_recorder live_view, WebSocket), e.g. 8765; "" = none')
ARGUMENTS = (
    GraphArgument('sim', 'true', 'true: start the MuJoCo simulator; false: use the robot\'s own ros2_control '
                                 'and camera drivers (topic names from the config file)'),
    GraphArgument('task', 'pick_place', 'task: pick_place, stack, insertion or reach'),
    GraphArgument('device', 'expert', 'input device: spacemouse, gamepad, keyboard, pose or expert'),
    GraphArgument('num_episodes', '0', 'episodes to record unattended, then stop (expert); 0 = interactive'),
    GraphArgument('output_dir', 'data/demos', 'data directory: episodes/<episode_id>/ bags and catalog.sqlite'),
    GraphArgument('cameras', 'scene_camera,wrist_camera', 'comma-separated camera names; each publishes '
                                                          '<name>/color, <name>/depth and <name>/camera_info'),
    GraphArgument('camera_width', '', 'simulated camera image width in pixels ("" = the simulator\'s default)'),
    GraphArgument('camera_height', '', 'simulated camera image height in pixels ("" = the simulator\'s default)'),
    GraphArgument('operator_name', '', 'who drives (stored with every episode); default: user name or expert'),
    GraphArgument('expert_noise', '0.0', 'std of the scripted expert\'s twist perturbation'),
    GraphArgument('expert_aim_offset', '0,0,0', 'x,y,z in m: where the scripted expert aims off the goal '
                                                '(a sloppy operator\'s systematic error)'),
    GraphArgument('seed', '0', 'seed of the first episode\'s scene (the next ones count up)'),
    GraphArgument('config', '', 'extra YAML parameter file for all nodes (ros__parameters per node name), '
                                'e.g. robot topic names for sim:=false'),
    GraphArgument('start_driver', 'false', 'true: also start the device driver (spacenav_node or joy_node)'),
    FOXGLOVE_ARGUMENT,
)
ARGUMENT_NAMES = tuple(a.name for a in ARGUMENTS)
DEVICE_DRIVERS = {'spacemouse': ('spacenav', 'spacenav_node', 'spacenav'), 'gamepad': ('joy', 'joy_node', 'joy')}


@dataclass
class NodeSpec:
    """One node of the graph: what ``launch_ros.actions.Node`` needs, and what ``run_graph`` starts."""

    package: str
    executable: str
    name: str
    parameters: dict = field(default_factory=dict)
    remappings: list = field(default_factory=list)
    output: str = 'screen'
    parameter_files: list = field(default_factory=list)   # YAML files applied before ``parameters``


def _as_bool(name, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f'argument {name}: expected true or false, got {value!r}')


def _as_number(name, value, kind):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f'argument {name}: expected {"an integer" if kind is int else "a number"}, '
                         f'got {value!r}') from None


def _as_vector(name, value, size):
    items = value if isinstance(value, (list, tuple)) else str(value).split(',')
    try:
        vector = [float(v) for v in items]
    except (TypeError, ValueError):
        vector = []
    if len(vector) != size:
        raise ValueError(f'argument {name}: expected {size} comma-separated numbers, got {value!r}')
    return vector


def resolve_arguments(args: dict) -> dict:
    """Defaults filled in and values typed; unknown names and bad values raise ValueError naming the argument."""
    unknown = sorted(set(args) - set(ARGUMENT_NAMES))
    if unknown:
        raise ValueError(f'unknown argument(s) {unknown}; known: {list(ARGUMENT_NAMES)}')
    raw = {a.name: a.default for a in ARGUMENTS}
    raw.update({k: v for k, v in args.items() if v is not None})
    cameras = raw['cameras']
    if isinstance(cameras, str):
        cameras = [c.strip() for c in cameras.split(',') if c.strip()]
    values = {
        'sim': _as_bool('sim', raw['sim']), 'task': str(raw['task']), 'device': str(raw['device']),
        'num_episodes': _as_number('num_episodes', raw['num_episodes'], int),
        'output_dir': os.path.abspath(os.path.expanduser(str(raw['output_dir']))),
        'cameras': list(cameras), 'operator_name': str(raw['operator_name']),
        'expert_noise': _as_number('expert_noise', raw['expert_noise'], float),
        'expert_aim_offset': _as_vector('expert_aim_offset', raw['expert_aim_offset'], 3),
        'seed': _as_number('seed', raw['seed'], int), 'config': str(raw['config']),
        'start_driver': _as_bool('start_driver', raw['start_driver']),
        'foxglove_port': foxglove_port(raw['foxglove_port']),
    }
    for name in ('camera_width', 'camera_height'):
        text = str(raw[name]).strip()
        values[name] = _as_number(name, text, int) if text else None
        if values[name] is not None and values[name] <= 0:
            raise ValueError(f'argument {name}: expected a positive number of pixels, got {text}')
    if values['num_episodes'] < 0:
        raise ValueError(f'argument num_episodes: expected >= 0, got {values["num_episodes"]}')
    if values['config'] and not Path(values['config']).is_file():
        raise ValueError(f'argument config: no such file {values["config"]}')
    return values


ROBOT_TOPICS = {'joint_states': '/joint_states', 'arm_commands': '/arm_controller/commands',
                'gripper_commands': '/gripper_controller/commands'}


def robot_topics(parameter_files: list) -> dict:
    """The teleop node's ``topics.*`` names for the robot, as its parameter files set them (later files win)."""
    topics = dict(ROBOT_TOPICS)
    for path in parameter_files:
        try:
            content = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ValueError(f'parameter file {path}: cannot be read as YAML ({err})') from None
        for key in ('/**', 'teleop', '/teleop'):
            params = ((content.get(key) or {}).get('ros__parameters') or {}) if isinstance(content, dict) else {}
            nested = params.get('topics') if isinstance(params.get('topics'), dict) else {}
            for name in ROBOT_TOPICS:
                value = nested.get(name, params.get(f'topics.{name}'))
                if value:
                    topics[name] = str(value)
    return topics


def recorded_topics(values: dict, topics: dict | None = None) -> list:
    """Topics in every episode bag: proprioception, the commands (actions), cameras, and the sim's task state."""
    topics = topics or ROBOT_TOPICS
    recorded = [topics['joint_states'], topics['arm_commands'], topics['gripper_commands']]
    for camera in values['cameras']:
        recorded += [f'/{camera}/color', f'/{camera}/depth', f'/{camera}/camera_info']
    if values['sim']:
        recorded.append('/rlhf_sim/task_state')
    return recorded


def foxglove_port(value) -> int | None:
    """The ``foxglove_port`` argument: a TCP port, or None ('') for no live view."""
    text = str(value).strip()
    if not text:
        return None
    port = _as_number('foxglove_port', text, int)
    if not 0 < port < 65536:
        raise ValueError(f'argument foxglove_port: expected a TCP port 1..65535 or "", got {text}')
    return port


def live_view_specs(port: int | None, topics: list, parameter_files: list) -> list:
    """The live view node relaying ``topics`` on ``port`` (none when port is None)."""
    if port is None:
        return []
    return [NodeSpec('rlhf_recorder', 'live_view', 'live_view', parameters={'port': port, 'topics': list(topics)},
                     parameter_files=_defaults('rlhf_recorder', 'live_view.yaml') + list(parameter_files))]


def collect_graph(args: dict) -> list:
    """The nodes of a collection run for the given arguments (names of ``ARGUMENTS``; strings or typed)."""
    v = resolve_arguments(args)
    extra_files = [v['config']] if v['config'] else []
    specs = []
    if v['sim']:
        sim_parameters = {'task': v['task'], 'cameras': v['cameras'] or ['none'], 'seed': v['seed']}
        sim_parameters.update({name: v[name] for name in ('camera_width', 'camera_height') if v[name] is not None})
        specs.append(NodeSpec('rlhf_sim', 'sim', 'sim', parameters=sim_parameters,
                              parameter_files=_defaults('rlhf_sim', 'sim.yaml') + extra_files))
    if v['start_driver'] and v['device'] in DEVICE_DRIVERS:
        package, executable, name = DEVICE_DRIVERS[v['device']]
        specs.append(NodeSpec(package, executable, name, parameter_files=list(extra_files)))
    teleop_files = [teleop_config_file()] + extra_files
    specs.append(NodeSpec('rlhf_teleop', 'teleop', 'teleop', parameter_files=teleop_files,
                          parameters={'device': v['device'], 'task': v['task'], 'num_episodes': v['num_episodes'],
                                      'operator_name': v['operator_name'], 'expert_noise': v['expert_noise'],
                                      'expert_aim_offset': v['expert_aim_offset'], 'seed': v['seed'], 'sim': v['sim']}))
    recorder_parameters = {'data_dir': v['output_dir'], 'topics': recorded_topics(v, robot_topics(teleop_files)),
                           'events_topic': '/episode/events'}
    specs.append(NodeSpec('rlhf_recorder', 'recorder', 'recorder', parameters=recorder_parameters,
                          parameter_files=_defaults('rlhf_recorder', 'recorder.yaml') + extra_files))
    specs += live_view_specs(v['foxglove_port'], recorder_parameters['topics'] + ['/episode/events'], extra_files)
    return specs


def launch_description(arguments, make_specs):
    """The ``ros2 launch`` form of a graph: declare ``arguments``, then start the nodes of ``make_specs(args)``.

    Launch files are two lines around this, so the launch arguments and nodes cannot drift from the
    graph description the console scripts start. ``launch`` is imported here: it exists only on ROS installs.
    """
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    def nodes(context):
        specs = make_specs({a.name: LaunchConfiguration(a.name).perform(context) for a in arguments})
        return [Node(package=s.package, executable=s.executable, name=s.name, output=s.output,
                     parameters=[*s.parameter_files, s.parameters], remappings=s.remappings) for s in specs]

    return LaunchDescription([
        *[DeclareLaunchArgument(a.name, default_value=a.default, description=a.description) for a in arguments],
        OpaqueFunction(function=nodes),
    ])


def package_config_file(package: str, filename: str) -> str | None:
    """A package's installed ``config/<filename>`` (its documented defaults), else the source tree's copy, else None."""
    try:
        from ament_index_python.packages import get_package_share_directory
        path = Path(get_package_share_directory(package)) / 'config' / filename
        if path.is_file():
            return str(path)
    except (ImportError, LookupError, ValueError):
        pass
    path = Path(__file__).resolve().parents[2] / package / 'config' / filename
    return str(path) if path.is_file() else None


def teleop_config_file() -> str:
    """rlhf_teleop's config/teleop.yaml."""
    return package_config_file('rlhf_teleop', 'teleop.yaml')


def _defaults(package: str, filename: str) -> list:
    path = package_config_file(package, filename)
    return [path] if path else []


# -- the embedded launcher ------------------------------------------------------------------------------

def executable_path(spec: NodeSpec) -> Path:
    """``<install prefix>/lib/<package>/<executable>`` as ``ros2 run`` finds it (via the ament index)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    try:
        prefix = get_package_prefix(spec.package)
    except PackageNotFoundError:
        raise FileNotFoundError(f'node {spec.name}: package {spec.package} is not installed (build it with colcon '
                                'and source scripts/env.sh)') from None
    path = Path(prefix) / 'lib' / spec.package / spec.executable
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f'node {spec.name}: no executable {path} (rebuild {spec.package} after adding its '
                                'console script)')
    return path


def ros_arguments(spec: NodeSpec, params_file: str | None) -> list:
    """The ``--ros-args`` that ``ros2 launch`` passes to a node process."""
    args = ['--ros-args', '-r', f'__node:={spec.name}']
    for path in spec.parameter_files:
        args += ['--params-file', str(path)]
    if params_file:
        args += ['--params-file', params_file]
    for source, target in spec.remappings:
        args += ['-r', f'{source}:={target}']
    return args


def write_params_file(spec: NodeSpec, directory: str) -> str | None:
    """Write ``spec.parameters`` as a ROS parameter file (as launch_ros does for a dict); None when empty."""
    if not spec.parameters:
        return None
    path = Path(directory) / f'{spec.name}_params.yaml'
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': spec.parameters}}, sort_keys=False))
    return str(path)


def _pump(name: str, stream, lock: threading.Lock, width: int):
    """Copy one process's output to ours, each line prefixed with the node name."""
    for line in iter(stream.readline, ''):
        with lock:
            sys.stdout.write(f'[{name:<{width}}] {line}' if line.endswith('\n') else f'[{name:<{width}}] {line}\n')
            sys.stdout.flush()
    stream.close()


def run_graph(specs: list, until: str | None = None, sigint_timeout_s: float = 15.0,
              sigterm_timeout_s: float = 5.0, env: dict | None = None) -> dict:
    """Start one process per spec; stop them all when ``until`` exits, any node fails, or on Ctrl-C.

    Shutdown is SIGINT first (nodes close cleanly: the recorder closes its bag), then SIGTERM and
    SIGKILL after the timeouts. Returns {node name: exit code}.
    """
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f'node names must be unique, got {names}')
    if until is not None and until not in names:
        raise ValueError(f'until={until!r} is not a node of the graph {names}')
    commands = [[str(executable_path(s))] for s in specs]   # fail before starting anything
    lock = threading.Lock()
    width = max(len(n) for n in names)
    processes, pumps = {}, []
    codes = {}
    with tempfile.TemporaryDirectory(prefix='rlhf_graph_') as tmp:
        try:
            for spec, command in zip(specs, commands):
                command += ros_arguments(spec, write_params_file(spec, tmp))
                # Own process group: a terminal Ctrl-C reaches only us, and we stop the nodes in order.
                proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        bufsize=1, env=env, start_new_session=True)
                processes[spec.name] = proc
                pump = threading.Thread(target=_pump, args=(spec.name, proc.stdout, lock, width), daemon=True)
                pump.start()
                pumps.append(pump)
            while True:
                finished = {n: p.poll() for n, p in processes.items() if p.poll() is not None}
                if until in finished or any(code != 0 for code in finished.values()) or \
                        len(finished) == len(processes):
                    for name, code in finished.items():
                        if code != 0 and name != until:
                            with lock:
                                print(f'[graph] node {name} exited with code {code}; stopping the graph', flush=True)
                    break
                time.sleep(0.1)
        except KeyboardInterrupt:
            with lock:
                print('[graph] Ctrl-C: stopping the nodes', flush=True)
        finally:
            codes = stop_processes(processes, sigint_timeout_s, sigterm_timeout_s)
            for pump in pumps:
                pump.join(timeout=2.0)
    return codes


def stop_processes(processes: dict, sigint_timeout_s: float, sigterm_timeout_s: float) -> dict:
    """SIGINT every running process, then SIGTERM, then SIGKILL; return the exit codes."""
    for sig, timeout in ((signal.SIGINT, sigint_timeout_s), (signal.SIGTERM, sigterm_timeout_s),
                         (signal.SIGKILL, 5.0)):
        running = [p for p in processes.values() if p.poll() is None]
        if not running:
            break
        for proc in running:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(p.poll() is None for p in running):
            time.sleep(0.05)
    return {name: p.wait() for name, p in processes.items()}
