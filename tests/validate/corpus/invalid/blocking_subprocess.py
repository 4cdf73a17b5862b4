
import subprocess


async def build(score):
    subprocess.run(["make"])  # expect: CAD403
