from cadence import Cadence
pipeline = Cadence("x, S())  # expect: CAD001
