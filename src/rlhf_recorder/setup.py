# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
from glob import glob

from setuptools import find_packages, setup

package_name = 'rlhf_recorder'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    package_data={package_name: ['assets/*', 'static/*', 'templates/*']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml') + glob('config/*.xml')),
    ],
    install_requires=['setuptools'],
    extras_require={'test': ['pytest']},
    zip_safe=False,
    maintainer='RLHF robotics team',
    maintainer_email='maintainers@rlhf-robotics.example',
    description=(
        'Episode recorder writing one rosbag2 (MCAP) per episode, an episode catalog, and the '
        'offline reader of recorded episodes.'
    ),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'recorder = rlhf_recorder.recorder_node:main',
            'live_view = rlhf_recorder.live_view_node:main',
            'episodes = rlhf_recorder.episodes_cli:main',
            'lerobot_export = rlhf_recorder.lerobot_cli:export_main',
            'lerobot_import = rlhf_recorder.lerobot_cli:import_main',
        ],
    },
)
