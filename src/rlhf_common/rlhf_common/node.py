# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Node parameters and the ``main()`` every node of the workspace runs through.

Parameters: a node module lists its parameters once, ``PARAMETERS = {name: typed default}``, documented in its
package's ``config/<node>.yaml`` (a test checks that the file and the table agree: ``check_parameter_file``);
``declare_parameters`` declares them all with their typed defaults (what Humble needs) and returns the values.

``run_node`` is the node ``main``:
- ``-h`` / ``--help`` prints the node's description and parameters and exits without starting ROS (and without
  side effects such as creating a data directory);
- the first SIGINT or SIGTERM stops it (Ctrl-C in a terminal sends SIGINT to the launch process and to every
  node; launch then sends its own SIGINT, later SIGTERM). The signal only sets a flag that the spin loop reads
  between short waits: raising an exception from a signal handler can land inside rclpy's C++ calls, which turn
  it into an unrelated RuntimeError. Later signals are ignored while the node shuts down, so a shutdown (closing
  a bag, joining a thread) always completes, prints no traceback and exits 0;
- a bad parameter (``bad_input`` raised while the node is built) prints one line and exits 2.
"""

import faulthandler
import signal
import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
SHUTDOWN_STACKS_AFTER_S = 8.0   # below the test supervisor's 10 s SIGINT grace (rlhf_common.testing)


def declare_parameters(node, parameters):
    """Declare ``parameters`` ({name: typed default}) on ``node``; returns {name: value}."""
    return {name: node.declare_parameter(name, default).value for name, default in parameters.items()}


def parameter_help(prog, description, parameters):
    """The ``--help`` text of a node: its description and every parameter with its default."""
    lines = [f'usage: {prog} [--ros-args -p NAME:=VALUE ... | --params-file FILE]', '']
    if description:
        lines += [description.strip(), '']
    lines.append('parameters (default):')
    width = max((len(n) for n in parameters), default=0)
    for name, default in parameters.items():
        lines.append(f'  {name:<{width}}  {default!r}')
    return '\n'.join(lines)


def wants_help(argv):
    """True when ``-h`` or ``--help`` comes before ``--ros-args`` (ROS arguments may hold anything)."""
    args = list(argv)
    if '--ros-args' in args:
        args = args[:args.index('--ros-args')]
    return '-h' in args or '--help' in args


class Interrupted(Exception):
    """Raised by ``check_stop`` when a stop signal arrived (for nodes that do a job in their own loops)."""


class _StopSignals:
    """SIGINT and SIGTERM set ``node.stop_requested``; nothing is raised from the handler."""

    def __init__(self):
        self.requested = False
        self.node = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        self.requested = True
        if self.node is not None:
            self.node.stop_requested = True

    def attach(self, node):
        """The node exists: it sees the stop flag (also one set while it was being built)."""
        node.stop_requested = self.requested
        self.node = node

    def ignore_all(self):
        """From here on every signal is ignored, by the kernel: also while the interpreter exits afterwards.

        (CPython puts the default SIGINT handler back during finalisation: a late Ctrl-C would end the process -2.)
        """
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


def check_stop(node):
    """Raise ``Interrupted`` when a stop signal arrived (call it in a node's own waiting loops)."""
    if getattr(node, 'stop_requested', False):
        raise Interrupted


# A server can answer before it has discovered the client's reply reader: Fast DDS then drops the reply after
# a 100 ms wait (the server logs "client will not receive response") and the call never completes. On a loaded
# machine that window lasts seconds after ``service_is_ready()``, so a request that may safely be repeated is sent
# again whenever this long passes without an answer (the first answer to any of the copies is taken: a slow
# server is not a lost reply).
RESEND_AFTER_S = 2.0


class RepeatedCall:
    """A service call with a request whose repetition is harmless (halt, resume, reset to a seed).

    For loops that poll: ``poll(now)`` sends (again) when due and returns the response once one has come, else None.
    """

    def __init__(self, client, request):
        self.client, self.request = client, request
        self.futures, self.sent_at = [], None

    def poll(self, now):
        for future in self.futures:
            if future.done():
                self.cancel()
                return future.result()
        due = self.sent_at is None or now - self.sent_at >= RESEND_AFTER_S
        if due and self.client.service_is_ready():
            self.futures.append(self.client.call_async(self.request))
            self.sent_at = now
        return None

    def cancel(self):
        for future in self.futures:
            if not future.done():
                self.client.remove_pending_request(future)
        self.futures = []


def call_service(client, request, spin_once, timeout_s):
    """Call a service (``RepeatedCall``), running ``spin_once()`` meanwhile.

    Returns the response, or None when none came within ``timeout_s`` (the service missing or never answering).
    """
    import time
    call, end = RepeatedCall(client, request), time.monotonic() + timeout_s
    while time.monotonic() < end:
        response = call.poll(time.monotonic())
        if response is not None:
            return response
        spin_once()
    call.cancel()
    return None


def spin_until_finished(node, timeout_sec=0.1):
    """Spin ``node`` until a stop signal, rclpy shutting down, or ``node.finished`` (when it has one) turning true.

    Returns ``node.exit_code`` (0 when it has none). Short waits: the stop flag is read between them.
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while rclpy.ok(context=node.context) and not node.stop_requested and not getattr(node, 'finished', False):
            executor.spin_once(timeout_sec=timeout_sec)
    finally:
        executor.remove_node(node)
        executor.shutdown(timeout_sec=0.0)
    return getattr(node, 'exit_code', EXIT_OK)


def run_node(make_node, args=None, *, prog='', description='', parameters=None, work=None,
             bad_input=(ValueError,)):
    """Build a node with ``make_node()``, run it, shut it down cleanly; returns the exit code.

    ``work(node)``, when given, runs instead of spinning (a node that does one job, like the evaluator) and
    returns the exit code; it calls ``check_stop(node)`` in its waits, and an interrupted job exits 130.
    ``node.close()``, when the node has it, runs before ``destroy_node`` (stop threads, close files).
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    argv = sys.argv if args is None else args
    if wants_help(argv[1:]):
        print(parameter_help(prog or argv[0], description, parameters or {}))
        return EXIT_OK
    signals = _StopSignals()
    node = None
    code = EXIT_OK
    try:
        # rclpy's own handlers would shut the context down under the executor's feet (rclpy/rclpy#398)
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        node = make_node()
        signals.attach(node)
        code = work(node) if work is not None else spin_until_finished(node)
    except Interrupted:
        code = EXIT_INTERRUPTED
    except ExternalShutdownException:
        code = EXIT_OK
    except bad_input as err:
        if signals.requested:          # stopped while starting: nothing to report
            code = EXIT_OK
        else:
            print(f'{prog or "node"}: {err}', file=sys.stderr, flush=True)
            code = EXIT_BAD_INPUT
    finally:
        signals.ignore_all()   # from here on every signal is ignored: shutdown always completes
        # a shutdown this slow is stuck: the stacks of every thread go to stderr (the node's log) before a
        # supervisor's SIGKILL, so the log says where
        faulthandler.dump_traceback_later(SHUTDOWN_STACKS_AFTER_S, exit=False)
        if node is not None:
            close = getattr(node, 'close', None)
            if close is not None:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
        faulthandler.cancel_dump_traceback_later()
    return code


def flatten_parameters(tree, prefix=''):
    """A ``ros__parameters`` mapping with nested groups -> {'group.name': value} as ROS reads it."""
    flat = {}
    for key, value in tree.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(flatten_parameters(value, name + '.'))
        else:
            flat[name] = value
    return flat


def check_parameter_file(path, node_name, parameters):
    """Problems of a node's documented parameter file: names, types and values must equal ``parameters``.

    Returns a list of messages naming the file and the parameter (empty when the file and the table agree).
    """
    from pathlib import Path

    import yaml
    content = yaml.safe_load(Path(path).read_text()) or {}
    documented = flatten_parameters((content.get(node_name) or {}).get('ros__parameters') or {})
    problems = [f'{path}: {name} is documented but the node declares no such parameter'
                for name in documented if name not in parameters]
    for name, default in parameters.items():
        if name not in documented:
            problems.append(f'{path}: parameter {name} (default {default!r}) is not documented')
        elif type(documented[name]) is not type(default) or documented[name] != default:
            problems.append(f'{path}: {name} = {documented[name]!r}, the node declares {default!r}')
    return problems
