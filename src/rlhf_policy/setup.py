# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
from glob import glob

from setuptools import find_packages, setup

package_name = 'rlhf_policy'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    package_data={package_name: ['assets/*', 'static/*', 'templates/*']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml')),
    ],
    install_requires=['setuptools'],
    extras_require={'test': ['pytest']},
    zip_safe=False,
    maintainer='RLHF robotics team',
    maintainer_email='maintainers@rlhf-robotics.example',
    description=(
        'Policy contract, shared observation preprocessing and the ONNX Runtime policy node with '
        'safety layer, plus online evaluation.'
    ),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'policy = rlhf_policy.policy_node:main',
            'deploy = rlhf_policy.cli:deploy_main',
            'evaluate = rlhf_policy.cli:evaluate_main',
            'evaluate_offline = rlhf_policy.cli:evaluate_offline_main',
            'evaluator = rlhf_policy.evaluator_node:main',
        ],
    },
)
