# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
from setuptools import find_packages, setup

package_name = 'rlhf_common'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    extras_require={'test': ['pytest']},
    zip_safe=False,
    maintainer='RLHF robotics team',
    maintainer_email='maintainers@rlhf-robotics.example',
    description='The robot interface, node parameters and main, and the graph launcher shared by every package.',
    license='Apache-2.0',
)
