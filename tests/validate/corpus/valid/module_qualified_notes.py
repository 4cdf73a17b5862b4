import cadence
import myapp.notes as notes
from myapp import steps

pipeline = (
    cadence.Cadence("q", notes.Score())
    .then("one", notes.fetch)
    .then("two", steps.process)
)
