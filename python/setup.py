"""pip install --no-build-isolation ./python: builds the _ivkit extension with the repository's
CMake (the same target as cmake -DIVKIT_BUILD_PYTHON=ON) for the interpreter running pip.

The package needs the rest of the checkout (include/, CMakeLists.txt) next to python/; pip builds
in place, so install from a clone. Extra CMake arguments: IVKIT_CMAKE_ARGS="-D... -D...".
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"project\(ivkit VERSION ([0-9.]+)", text)
    return match.group(1) if match else "0.0.0"


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not (ROOT / "include" / "ivkit").is_dir():
            raise RuntimeError(f"ivkit: {ROOT} is not an ivkit checkout (pip install ./python from a clone)")
        out_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = Path(self.build_temp).resolve() / "cmake"
        args = [
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DIVKIT_BUILD_PYTHON=ON", "-DIVKIT_PYTHON_SKIP_PURE=ON",
            "-DIVKIT_BUILD_TESTS=OFF", "-DIVKIT_BUILD_EXAMPLES=OFF", "-DIVKIT_INSTALL=OFF", "-DIVKIT_WITH_MPI=OFF",
            f"-DIVKIT_PYTHON_OUTPUT_DIR={out_dir}", "-DCMAKE_BUILD_TYPE=Release",
        ]
        if shutil.which("ccache"):
            args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        args += shlex.split(os.environ.get("IVKIT_CMAKE_ARGS", ""))
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir)] + args, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_ivkit", "-j", jobs], check=True)


setup(
    name="ivkit",
    version=project_version(),
    description="GMM-UBM, i-vector and PLDA speaker recognition on NumPy arrays (C++ core)",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="MIT",
    packages=["ivkit"],
    package_data={"ivkit": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("ivkit._ivkit")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.8",
    install_requires=["numpy"],
    zip_safe=False,
)
