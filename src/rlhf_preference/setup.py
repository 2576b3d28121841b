# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
from glob import glob

from setuptools import find_packages, setup

package_name = 'rlhf_preference'

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
        'Preference pairs from recorded episodes, a Flask annotation page for many annotators, '
        'SQLite or PostgreSQL storage and the preference export.'
    ),
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'server = rlhf_preference.server:main',
            'make_pairs = rlhf_preference.make_pairs:main',
            'export_preferences = rlhf_preference.export:main',
            'annotate_scripted = rlhf_preference.scripted:main',
        ],
    },
)
