from cadence import Cadence as Flow
from myapp.notes import fetch, store

pipeline = Flow("aliased", None).then("fetch", fetch).then("store", store)
