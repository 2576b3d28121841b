# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The deployment graph, described once and started two ways.

``deploy_graph(args)`` turns the documented arguments (``ARGUMENTS``) into ``rlhf_common.graph.NodeSpec``
entries: the simulator (``sim:=true``: the Panda's, or the piano's for a policy that observes the piano, with the
task its contract's ``metadata.piano`` names; with ``sim:=false`` the robot's own ros2_control and camera drivers
provide the topics), the policy node, and optionally the recorder. ``launch/deploy.launch.py`` turns the
specs into ``launch_ros`` Node actions; the ``deploy`` console script starts them with
``rlhf_common.supervisor.run_graph`` (one process per node). ``evaluate_graph`` adds the evaluator node
(``rlhf_policy.evaluator_node``), which runs seeded episodes and ends the graph.
"""

from rlhf_common import topics
from rlhf_common.graph import (
    GraphArgument,
    NodeSpec,
    config_file_argument,
    package_config_file,
    package_defaults,
    resolve_arguments,
)
from rlhf_policy.contract import PolicyContract
from rlhf_recorder.live_view import FOXGLOVE_ARGUMENT, live_view_specs

ARGUMENTS = (
    GraphArgument('contract', '', 'path of the policy contract.yaml (the model file is resolved next to it)',
                  kind='path'),
    GraphArgument('sim', 'true', "true: start the MuJoCo simulator; false: only the policy, against the robot's "
                                 'own ros2_control and camera topics', kind='bool'),
    GraphArgument('task', 'pick_place', 'simulated task: pick_place, stack, insertion or reach',
                  choices=('pick_place', 'stack', 'insertion', 'reach')),
    GraphArgument('seed', '0', 'seed of the simulated scene', kind='int'),
    GraphArgument('camera_width', '', 'simulated camera image width in pixels ("" = the simulator\'s default)',
                  kind='int', minimum=1, optional=True),
    GraphArgument('camera_height', '', 'simulated camera image height in pixels ("" = the simulator\'s default)',
                  kind='int', minimum=1, optional=True),
    GraphArgument('start_in_estop', 'false', 'true: the policy commands nothing until /policy/resume', kind='bool'),
    GraphArgument('execution_provider', 'auto', 'ONNX Runtime provider: auto, cpu or cuda',
                  choices=('auto', 'cpu', 'cuda')),
    GraphArgument('realtime_priority', '20', 'SCHED_FIFO priority of the policy control thread (1..99; 0 = normal '
                                            'scheduling; needs CAP_SYS_NICE)', kind='int', minimum=0),
    GraphArgument('record', 'false', 'true: also start the recorder; episodes are the stretches between '
                                     'START/stop events on /episode/events (the evaluator sends them; otherwise '
                                     'call /episode/control)', kind='bool'),
    GraphArgument('output_dir', 'data/policy_episodes', 'recorder data directory (with record:=true)', kind='path'),
    GraphArgument('stats_file', '', 'CSV of every control tick\'s timing, written by the policy at shutdown',
                  kind='path'),
    GraphArgument('config', '', 'extra YAML parameter file for all nodes (ros__parameters per node name), '
                                'e.g. robot topic remaps or safety limits for sim:=false', kind='path'),
    FOXGLOVE_ARGUMENT,
)


def resolve_deploy_arguments(args):
    """Typed and checked arguments (errors name the argument), with the loaded contract as ``contract_obj``."""
    values = resolve_arguments(ARGUMENTS, args)
    if not values['contract']:
        raise ValueError('argument contract: expected the path of a contract.yaml (from the training export)')
    if values['realtime_priority'] > 99:
        raise ValueError(f'argument realtime_priority: expected 0..99, got {values["realtime_priority"]}')
    values['contract_obj'] = PolicyContract.load(values['contract'])
    values['config_files'] = config_file_argument(values)
    return values


def policy_config_file():
    """The installed config/policy.yaml (the documented defaults), or the source tree's copy."""
    return package_config_file('rlhf_policy', 'policy.yaml')


def piano_policy_parameters():
    """The policy node's parameters that config/policy_piano.yaml changes for a piano policy."""
    from rlhf_common.node import flatten_parameters
    from rlhf_common.settings import read_mapping
    return flatten_parameters(read_mapping(package_config_file('rlhf_policy', 'policy_piano.yaml'))
                              ['policy']['ros__parameters'])


def plays_piano(contract):
    """True for a policy that observes the piano (its keys or its score)."""
    return contract.observation.uses_piano_keys or contract.observation.uses_piano_score


def piano_task(contract):
    """The piano task (``rlhf_sim.piano.PianoTask`` fields) a piano policy was trained on, to simulate it."""
    task = contract.metadata.get('piano')
    if not isinstance(task, dict) or 'song' not in task:
        raise ValueError('contract: the policy observes the piano but metadata.piano (the task to simulate: song, '
                         'hands, ...) is missing; play it on the robot with sim:=false')
    return task


def graph_cameras(values):
    """The cameras the graph publishes: the contract's, or the simulator's scene camera for a state-only policy.

    The scene camera (the piano node's ``piano_camera``) lets recorded episodes be shown to annotators.
    """
    cameras = [c.name for c in values['contract_obj'].observation.cameras]
    if cameras or not values['sim']:
        return cameras
    return ['piano_camera' if plays_piano(values['contract_obj']) else 'scene_camera']


def output_topics(values):
    """What the policy node publishes: its commands and its status."""
    return [topic for topic, _ in values['contract_obj'].action.command_topics] + [topics.POLICY_STATUS]


def recorded_topics(values):
    """What an evaluation episode bag holds: the same streams as a demonstration."""
    piano = values['sim'] and plays_piano(values['contract_obj'])
    streams = ('color', 'camera_info') if piano else topics.CAMERA_STREAMS   # the piano node renders no depth
    recorded = [topics.JOINT_STATES, *output_topics(values)]
    for cam in graph_cameras(values):
        recorded += [topics.camera_topic(cam, stream) for stream in streams]
    if values['sim']:
        recorded += [topics.PIANO_KEYS, topics.PIANO_SCORE] if piano else [topics.TASK_STATE]
    return recorded


def observed_topics(values):
    """The recorded streams an episode waits for (the commands and the policy's status are its output)."""
    outputs = output_topics(values)
    return [t for t in recorded_topics(values) if t not in outputs]


def piano_node_spec(task, seed, parameter_files):
    """The simulated piano playing ``task`` (the piano node takes the song, hands, lookahead and control rate)."""
    names = ('song', 'hands', 'n_steps_lookahead', 'control_timestep')
    return NodeSpec('rlhf_sim', 'piano', 'piano', parameter_files=parameter_files,
                    parameters={**{n: task[n] for n in names if n in task}, 'seed': seed})


def recorded_task(values, piano):
    """The task a deployment's recording names: the song a piano policy plays (or 'piano'), else the task."""
    if not piano:
        return values['task']
    try:
        return piano_task(values['contract_obj'])['song']
    except ValueError:   # a piano policy without its task, on the robot
        return 'piano'


def deploy_graph(args, episodes_from_events=False):
    """The nodes of a deployment for the given arguments (names of ``ARGUMENTS``; strings or typed).

    With ``record``, the recorder keeps the whole run as one episode (nothing else announces episodes in a plain
    deployment), unless ``episodes_from_events``: then an evaluator's /episode/events cut one bag per episode.
    """
    v = resolve_deploy_arguments(args)
    extra = v['config_files']
    specs = []
    piano = plays_piano(v['contract_obj'])
    if v['sim'] and piano:
        specs.append(piano_node_spec(piano_task(v['contract_obj']), v['seed'], list(extra)))
    elif v['sim']:
        sim_parameters = {'task': v['task'], 'cameras': graph_cameras(v), 'seed': v['seed']}
        sim_parameters.update({name: v[name] for name in ('camera_width', 'camera_height') if v[name] is not None})
        specs.append(NodeSpec('rlhf_sim', 'sim', 'sim', parameter_files=list(extra), parameters=sim_parameters))
    piano_config = package_defaults('rlhf_policy', 'policy_piano.yaml') if piano else []
    specs.append(NodeSpec('rlhf_policy', 'policy', 'policy',
                          parameter_files=[policy_config_file(), *piano_config, *extra],
                          parameters={'contract': v['contract'], 'start_in_estop': v['start_in_estop'],
                                      'execution_provider': v['execution_provider'], 'stats_file': v['stats_file'],
                                      'realtime_priority': v['realtime_priority']}))
    if v['record']:
        specs.append(NodeSpec('rlhf_recorder', 'recorder', 'recorder', parameter_files=list(extra), parameters={
            'data_dir': v['output_dir'], 'topics': recorded_topics(v), 'required_topics': observed_topics(v),
            'events_topic': topics.EPISODE_EVENTS, 'record_whole_run': not episodes_from_events,
            'whole_run_task': recorded_task(v, piano)}))
    specs += live_view_specs(v['foxglove_port'], recorded_topics(v) + [topics.EPISODE_EVENTS], extra)
    return specs


EVALUATE_ARGUMENTS = (
    GraphArgument('episodes', '10', 'number of evaluation episodes', kind='int', minimum=1),
    GraphArgument('timeout_s', '30.0', 'seconds without success before an episode counts as a failure',
                  kind='float', minimum=0.1),
    GraphArgument('output', 'evaluation.json', 'JSON report (summary + one entry per episode)', kind='path'),
    GraphArgument('note', '', 'note stored with recorded episodes, e.g. the checkpoint'),
)
EVALUATE_NAMES = tuple(a.name for a in EVALUATE_ARGUMENTS)


def evaluate_graph(args):
    """Deployment graph (simulator, policy waiting for resume, optional recorder) + the evaluator node.

    The evaluator ends the graph; with ``record`` its episode events drive the recorder (one bag per episode).
    """
    options = resolve_arguments(EVALUATE_ARGUMENTS, {k: v for k, v in args.items() if k in EVALUATE_NAMES})
    graph_args = {k: v for k, v in args.items() if k not in EVALUATE_NAMES}
    graph_args.update(sim='true', start_in_estop='true')
    values = resolve_deploy_arguments(graph_args)
    if plays_piano(values['contract_obj']):
        raise ValueError('the piano is scored by key-press F1, not task success: python bench/piano.py graph '
                         'CONTRACT plays it through this graph')
    specs = deploy_graph(graph_args, episodes_from_events=True)
    specs.append(NodeSpec('rlhf_policy', 'evaluator', 'evaluate', ends_graph=True, parameters={
        'contract': values['contract'], 'episodes': options['episodes'], 'seed': values['seed'],
        'task': values['task'], 'timeout_s': options['timeout_s'], 'output': options['output'],
        'record': values['record'], 'note': options['note']}))
    return specs
