from setuptools import find_packages, setup

setup(
    name="stack-cfn",
    version="0.1.0",
    description="Segment's Stack as a CloudFormation template compiler: VPC, ECS cluster, bastion and services",
    packages=find_packages(include=["stack_cfn", "stack_cfn.*"]),
    python_requires=">=3.11",
    install_requires=[
        "troposphere>=4.8,<5",
        "awacs>=2.4,<3",
        "cfn-lint>=1.20,<2",
        "boto3>=1.34",
        "PyYAML>=6",
        "rich>=13",
    ],
    extras_require={
        # The local AWS of `stack-cfn up --local`; moto's CloudFormation model is
        # extended in stack_cfn/local.py, so stay on the major version tested.
        "local": ["moto[server]>=5.1,<6"],
        "dev": [
            "moto[server]>=5.1,<6",
            "pytest>=8",
            "pytest-xdist>=3",
            "hypothesis>=6",
            "awscli>=1.33",
            "ruff>=0.6",
        ],
    },
    entry_points={"console_scripts": ["stack-cfn=stack_cfn.cli:run"]},
)
