import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# One version, in the package (stack-cfn --version reads it); docs/versioning.md says what a bump means.
VERSION = re.search(r'^__version__ = "([^"]+)"', (HERE / "stack_cfn" / "__init__.py").read_text(), re.M).group(1)
LOCAL = [
    # The local AWS of `stack-cfn up --local`; moto's CloudFormation model is
    # extended in stack_cfn/ship/local.py, so stay on the major version tested.
    "moto[server]>=5.1,<6",
]

setup(
    name="stack-cfn",
    version=VERSION,
    description="Segment's Stack as a CloudFormation template compiler: VPC, ECS cluster, bastion and services",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
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
        "local": LOCAL,
        "dev": [
            *LOCAL,
            "pytest>=8",
            "pytest-xdist>=3",
            "hypothesis>=6",
            "awscli>=1.33",
            "ruff>=0.6",
            # make typecheck (pyproject.toml [tool.mypy]) and the dead-code check of make lint (vulture_whitelist.py)
            "mypy>=1.10",
            "types-PyYAML",
            "vulture>=2.11",
            # python -m build --no-isolation (tests/test_install.py builds the wheel offline)
            "build>=1",
            "setuptools>=68",
            "wheel",
        ],
    },
    entry_points={"console_scripts": ["stack-cfn=stack_cfn.cli:run"]},
)
