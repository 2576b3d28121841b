# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A graph of nodes, described once and started two ways.

A graph is a table of ``GraphArgument`` (launch arguments, and options of the console script that starts the
graph without ``ros2 launch``) and a function from their values to a list of ``NodeSpec``. ``launch_description``
is the ``ros2 launch`` form of a graph; ``rlhf_common.supervisor.run_graph`` starts the same specs as one process
per node with the ``--ros-args`` that ``ros2 launch`` passes. Both check that every node's executable exists
before they start anything, and both end the whole graph when a node marked ``ends_graph`` exits.
"""

from dataclasses import dataclass, field
import os
from pathlib import Path


@dataclass(frozen=True)
class GraphArgument:
    """One argument of a graph: a launch argument and a console-script option.

    ``kind``: str, bool, int, float, path (made absolute), names (comma-separated list) or vector (``size``
    comma-separated numbers). ``optional``: an empty value means "not set" (None). ``choices`` / ``minimum``
    restrict the value.
    """

    name: str
    default: str
    description: str
    kind: str = 'str'
    choices: tuple = ()
    minimum: float = None
    size: int = 0
    optional: bool = False


@dataclass
class NodeSpec:
    """One node of a graph: what ``launch_ros.actions.Node`` needs, and what ``run_graph`` starts."""

    package: str
    executable: str
    name: str
    parameters: dict = field(default_factory=dict)
    remappings: list = field(default_factory=list)
    output: str = 'screen'
    parameter_files: list = field(default_factory=list)   # YAML files applied before ``parameters``
    ends_graph: bool = False   # when this node exits, the whole graph stops (an unattended run is done)


def as_bool(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f'argument {name}: expected true or false, got {value!r}')


def _number(name, value, kind):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f'argument {name}: expected {"an integer" if kind is int else "a number"}, '
                         f'got {value!r}') from None


def _vector(name, value, size):
    items = value if isinstance(value, (list, tuple)) else str(value).split(',')
    try:
        vector = [float(v) for v in items]
    except (TypeError, ValueError):
        vector = []
    if len(vector) != size:
        raise ValueError(f'argument {name}: expected {size} comma-separated numbers, got {value!r}')
    return vector


def _names(value):
    items = value if isinstance(value, (list, tuple)) else str(value).split(',')
    return [str(v).strip() for v in items if str(v).strip()]


def convert_argument(arg, value):
    """The typed value of one argument (ValueError naming the argument and what was expected)."""
    if arg.optional and str(value).strip() == '':
        return None
    if arg.kind == 'bool':
        typed = as_bool(arg.name, value)
    elif arg.kind in ('int', 'float'):
        typed = _number(arg.name, str(value).strip(), int if arg.kind == 'int' else float)
    elif arg.kind == 'path':
        typed = os.path.abspath(os.path.expanduser(str(value))) if str(value) else ''
    elif arg.kind == 'names':
        typed = _names(value)
    elif arg.kind == 'vector':
        typed = _vector(arg.name, value, arg.size)
    elif arg.kind == 'str':
        typed = str(value)
    else:
        raise ValueError(f'argument {arg.name}: unknown kind {arg.kind!r}')
    if arg.choices and typed not in arg.choices:
        raise ValueError(f'argument {arg.name}: expected one of {list(arg.choices)}, got {value!r}')
    if arg.minimum is not None and typed < arg.minimum:
        raise ValueError(f'argument {arg.name}: expected >= {arg.minimum:g}, got {value!r}')
    return typed


def resolve_arguments(arguments, args):
    """Defaults filled in and values typed; unknown names and bad values raise ValueError naming the argument."""
    names = [a.name for a in arguments]
    unknown = sorted(set(args) - set(names))
    if unknown:
        raise ValueError(f'unknown argument(s) {unknown}; known: {names}')
    values = {}
    for arg in arguments:
        value = args.get(arg.name)
        values[arg.name] = convert_argument(arg, arg.default if value is None else value)
    return values


def config_file_argument(values, name='config'):
    """The checked value of a ``config`` argument: an existing parameter file, as a list (empty when unset)."""
    path = values.get(name) or ''
    if path and not Path(path).is_file():
        raise ValueError(f'argument {name}: no such file {path}')
    return [path] if path else []


def package_config_file(package, filename):
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


def package_defaults(package, filename):
    """``[package_config_file(...)]``, or [] when the package has no such file."""
    path = package_config_file(package, filename)
    return [path] if path else []


def executable_path(spec):
    """``<install prefix>/lib/<package>/<executable>`` as ``ros2 run`` finds it (via the ament index)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    try:
        prefix = get_package_prefix(spec.package)
    except PackageNotFoundError:
        raise FileNotFoundError(f'node {spec.name}: package {spec.package} is not installed (install it, or build '
                                'it with colcon and source the workspace)') from None
    path = Path(prefix) / 'lib' / spec.package / spec.executable
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f'node {spec.name}: no executable {path} (rebuild {spec.package} after adding its '
                                'console script)')
    return path


def check_executables(specs):
    """Every spec's executable path, in order; FileNotFoundError naming the first missing one (nothing started)."""
    return [executable_path(s) for s in specs]


def graph_end(specs):
    """Name of the node whose exit ends the graph (``ends_graph``), or None; at most one may be marked."""
    ends = [s.name for s in specs if s.ends_graph]
    if len(ends) > 1:
        raise ValueError(f'only one node can end the graph, got {ends}')
    return ends[0] if ends else None


def launch_description(arguments, make_specs):
    """The ``ros2 launch`` form of a graph: declare ``arguments``, then start the nodes of ``make_specs(args)``.

    Launch files are two lines around this, so the launch arguments and nodes cannot drift from the graph
    description the console scripts start. Before any node starts, every executable must exist (a missing driver
    package is reported, and nothing is left running); when the ``ends_graph`` node exits, launch shuts down.
    ``launch`` is imported here: it exists only on ROS installs.
    """
    from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
    from launch.event_handlers import OnProcessExit
    from launch.events import Shutdown
    from launch.launch_description import LaunchDescription
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    def nodes(context):
        specs = make_specs({a.name: LaunchConfiguration(a.name).perform(context) for a in arguments})
        check_executables(specs)
        actions = []
        for s in specs:
            node = Node(package=s.package, executable=s.executable, name=s.name, output=s.output,
                        parameters=[*s.parameter_files, s.parameters], remappings=s.remappings)
            actions.append(node)
            if s.ends_graph:
                actions.append(RegisterEventHandler(OnProcessExit(
                    target_action=node, on_exit=[EmitEvent(event=Shutdown(reason=f'{s.name} finished'))])))
        return actions

    return LaunchDescription([
        *[DeclareLaunchArgument(a.name, default_value=a.default, description=a.description) for a in arguments],
        OpaqueFunction(function=nodes),
    ])


def add_arguments(parser, arguments, skip=()):
    """Add ``--<name>`` options for ``arguments`` to an argparse parser (a graph's console script)."""
    for arg in arguments:
        if arg.name not in skip:
            parser.add_argument('--' + arg.name.replace('_', '-'), dest=arg.name, default=arg.default,
                                help=f'{arg.description} (default: {arg.default!r})')
    return parser
