"""Source data for held-out set 3. HELD OUT: never tune the generator on this file.

W rows: (pattern, domain, tags, task, cadence name, reference steps, distractors, registry size, avoid)
F rows: (key, domain, tags, task, cadence name, reference steps, distractors, registry size, avoid)

Pools map a name to (role, one-line docstring). Registries are filled from a pool in pool order.
"""

from __future__ import annotations

# ====================================================================== wording domains
SCORES = {
    "charter": "CharterScore(vessel_id: str, charterer: str, laycan: str)",
    "dental": "DentalCaseScore(case_id: str, practice: str, due_date: str)",
    "orchard": "HarvestScore(block_id: str, variety: str, bins: int)",
}

POOLS: dict[str, dict[str, tuple[str, str]]] = {
    # ship chartering: fixing a vessel for a charterer
    "charter": {
        "archive_fixture_file": (
            "note",
            "Store the closed fixture's documents in the chartering archive.",
        ),
        "compute_laytime": (
            "note",
            "Calculate laytime used and any demurrage owed from the statement of facts.",
        ),
        "receive_fixture_request": (
            "note",
            "Record an incoming charter enquiry: cargo, laycan, load and discharge ports.",
        ),
        "screen_sanctions": (
            "note",
            "Check the charterer, the vessel and the ports against sanctions lists.",
        ),
        "check_vessel_position": (
            "note",
            "Look up the vessel's current AIS position and its ETA to the load port.",
        ),
        "quote_hire_rate": (
            "note",
            "Work out the daily hire or freight rate to offer the charterer.",
        ),
        "draft_charter_party": (
            "note",
            "Prepare the charter party contract from the agreed main terms.",
        ),
        "send_recap_to_broker": (
            "note",
            "Email the fixture recap (the agreed main terms) to the broker.",
        ),
        "collect_hire_deposit": ("note", "Invoice and collect the first hire payment in advance."),
        "nominate_load_agent": ("note", "Appoint a port agent at the load port."),
        "notify_shipowner": ("note", "Tell the shipowner where the fixture stands."),
        "is_time_charter": (
            "condition",
            "True when the enquiry is a time charter rather than a voyage charter.",
        ),
        "charterer_cleared": (
            "condition",
            "True when the charterer has passed KYC and credit checks.",
        ),
        "vessel_needs_survey": (
            "condition",
            "True when the vessel's last on-hire survey is older than six months.",
        ),
        "on_hire_survey": (
            "cadence",
            "Sub-workflow: book a surveyor, inspect holds and bunkers, file the survey report.",
        ),
        "merge_survey_report": ("merge", "Copy the on-hire survey results into the fixture."),
        "bunker_procurement": (
            "cadence",
            "Sub-workflow: get bunker quotes, pick a supplier, confirm the delivery.",
        ),
        "merge_bunker_order": ("merge", "Copy the confirmed bunker order into the fixture."),
        "alert_chartering_desk": (
            "handler",
            "Page the chartering desk with the error; the fixture run stops here.",
        ),
        "log_fixture_issue": (
            "handler",
            "Write the error to the fixture log so the following steps still run.",
        ),
    },
    # dental lab: crowns, bridges and implant parts made for practices
    "dental": {
        "archive_case_photos": ("note", "Store the case's intraoral photos in the lab archive."),
        "email_dentist": ("note", "Email the dentist a status update on the case."),
        "receive_impression": (
            "note",
            "Log an incoming impression or intraoral scan together with its prescription.",
        ),
        "scan_model": ("note", "Digitise the poured stone model with the lab's 3D scanner."),
        "print_model": ("note", "3D-print a working model of the arch."),
        "match_shade": ("note", "Record the tooth shade from the dentist's photos and shade tab."),
        "design_crown": ("note", "Design the crown or bridge in the CAD software."),
        "mill_restoration": (
            "note",
            "Mill the designed restoration from a zirconia or ceramic block.",
        ),
        "glaze_and_fire": ("note", "Stain and glaze the restoration and fire it in the furnace."),
        "quality_inspect": (
            "note",
            "Inspect fit, margins and occlusion of the restoration on the model.",
        ),
        "ship_overnight": ("note", "Send the finished case by overnight express courier."),
        "ship_to_practice": (
            "note",
            "Pack the finished case and send it with the regular courier.",
        ),
        "bill_practice": ("note", "Send the invoice for the case to the dental practice."),
        "is_rush_case": ("condition", "True when the practice paid for next-day turnaround."),
        "impression_is_usable": (
            "condition",
            "True when the impression shows clear margins and no bubbles or tears.",
        ),
        "implant_abutment_workflow": (
            "cadence",
            "Sub-workflow: order the implant parts, then design and mill a custom abutment.",
        ),
        "merge_abutment": ("merge", "Copy the finished abutment's details into the case."),
        "denture_setup_workflow": (
            "cadence",
            "Sub-workflow: set denture teeth in wax for a try-in.",
        ),
        "merge_denture_setup": ("merge", "Copy the wax try-in details into the case."),
        "put_case_on_hold": (
            "handler",
            "Mark the case on hold and tell the technician; the run stops.",
        ),
        "note_case_problem": (
            "handler",
            "Add the error to the case notes and carry on with the next step.",
        ),
    },
    # apple orchard: harvesting a block
    "orchard": {
        "spray_block": ("note", "Apply the scheduled fungicide spray to the block."),
        "sample_fruit": ("note", "Pick sample apples across the block for testing."),
        "test_sugar_levels": ("note", "Measure Brix (sugar) and starch in the samples."),
        "test_firmness": ("note", "Measure flesh firmness of the samples with a penetrometer."),
        "schedule_picking_crew": ("note", "Book a picking crew for the block."),
        "pick_block": ("note", "Harvest the block into bins."),
        "weigh_bins": ("note", "Weigh the filled bins and record the tonnage."),
        "grade_fruit": ("note", "Sort the fruit into fresh-market and processing grades."),
        "move_to_cold_storage": ("note", "Truck the bins to controlled-atmosphere cold storage."),
        "send_to_cider_press": ("note", "Send the bins to the cider mill for juicing."),
        "update_harvest_log": ("note", "Write the block's harvest figures into the season log."),
        "pay_pickers": ("note", "Calculate and pay the picking crew for the block."),
        "fruit_is_ripe": (
            "condition",
            "True when sugar and starch readings are inside the picking window.",
        ),
        "grade_is_fresh_market": (
            "condition",
            "True when most of the fruit graded as fresh-market quality.",
        ),
        "packhouse_run": (
            "cadence",
            "Sub-workflow: wash, wax, size and pack the fruit into cartons.",
        ),
        "merge_packout": ("merge", "Copy the packhouse carton counts into the harvest record."),
        "residue_testing": (
            "cadence",
            "Sub-workflow: send samples to the lab for pesticide residue tests.",
        ),
        "merge_residue_results": (
            "merge",
            "Copy the residue test results into the harvest record.",
        ),
        "notify_orchard_manager": (
            "handler",
            "Text the orchard manager about the error; the run stops.",
        ),
        "flag_in_harvest_log": (
            "handler",
            "Record the error in the harvest log and continue with the next step.",
        ),
    },
}

LWW = 'merge_strategy="last_write_wins"'

W: list[tuple] = [
    # ------------------------------------------------------------------ charter
    (
        "sequence",
        "charter",
        ["imperative", "comma-list"],
        "Log the charter enquiry when it comes in, screen everybody involved against the sanctions "
        "lists, and then quote the charterer a hire rate.",
        "fixture",
        [
            '.then("record", receive_fixture_request)',
            '.then("screen", screen_sanctions)',
            '.then("quote", quote_hire_rate)',
        ],
        ["check_vessel_position", "draft_charter_party"],
        14,
        [],
    ),
    (
        "sync",
        "charter",
        ["conversational", "concurrently"],
        "Once an enquiry has been recorded I'd like the sanctions screening and the lookup of the "
        "vessel's position to happen at the same time. When both are back, quote the hire rate.",
        "fixture",
        [
            '.then("record", receive_fixture_request)',
            '.sync("checks", [screen_sanctions, check_vessel_position])',
            '.then("quote", quote_hire_rate)',
        ],
        ["draft_charter_party", "send_recap_to_broker"],
        13,
        [],
    ),
    (
        "split",
        "charter",
        ["question", "either-or"],
        "How would I set up a fixture where, after the charter party is drafted, time charters have "
        "their first hire payment collected up front while voyage charters just get a load-port agent "
        "nominated — and either way the shipowner hears about it at the end?",
        "fixture",
        [
            '.then("draft", draft_charter_party)',
            '.split("charter_type", is_time_charter, [collect_hire_deposit], [nominate_load_agent])',
            '.then("tell_owner", notify_shipowner)',
        ],
        ["charterer_cleared", "send_recap_to_broker"],
        15,
        [],
    ),
    (
        "split_only_true",
        "charter",
        ["negative", "unless"],
        "Don't nominate a load agent unless the charterer has been cleared. Whatever happens with "
        "that, the recap goes to the broker afterwards.",
        "fixture",
        [
            '.split("agent_if_cleared", charterer_cleared, [nominate_load_agent])',
            '.then("recap", send_recap_to_broker)',
        ],
        ["is_time_charter", "notify_shipowner"],
        14,
        [],
    ),
    (
        "child",
        "charter",
        ["passive", "sub-workflow"],
        "The enquiry is recorded first. The on-hire survey sub-workflow is then run, with its report "
        "merged back into the fixture, after which the charter party gets drafted.",
        "fixture",
        [
            '.then("record", receive_fixture_request)',
            '.child("survey", on_hire_survey, merge_survey_report)',
            '.then("draft", draft_charter_party)',
        ],
        ["bunker_procurement", "merge_bunker_order"],
        15,
        [],
    ),
    (
        "on_error",
        "charter",
        ["bullets", "stop-on-error"],
        "Steps for a quick fixture:\n- find out where the vessel is right now\n- quote the hire rate\n"
        "- draft the charter party\nIf anything goes wrong, page the chartering desk and stop there.",
        "fixture",
        [
            '.then("position", check_vessel_position)',
            '.then("quote", quote_hire_rate)',
            '.then("draft", draft_charter_party)',
            ".on_error(alert_chartering_desk)",
        ],
        ["log_fixture_issue", "send_recap_to_broker"],
        14,
        [],
    ),
    (
        "sync_strategy",
        "charter",
        ["imperative", "merge-strategy", "aside"],
        "Screen for sanctions, check the vessel's position and quote the hire rate all at once (they "
        "sometimes write the same field; if so, the last write wins). Then email the recap to the broker.",
        "fixture",
        [
            f'.sync("parallel_checks", [screen_sanctions, check_vessel_position, quote_hire_rate], {LWW})',
            '.then("recap", send_recap_to_broker)',
        ],
        ["draft_charter_party", "notify_shipowner"],
        13,
        [],
    ),
    (
        "interrupt",
        "charter",
        ["early-stop", "continue-on-error"],
        "Record the enquiry and then run the sanctions screen; a hit there should end the whole run "
        "on the spot. Errors, on the other hand, shouldn't halt anything — write them to the fixture "
        "log and keep going.",
        "fixture",
        [
            '.then("record", receive_fixture_request)',
            '.then("screen", screen_sanctions, can_interrupt=True)',
            ".on_error(log_fixture_issue, stop=False)",
        ],
        ["alert_chartering_desk", "archive_fixture_file"],
        14,
        [],
    ),
    (
        "complex",
        "charter",
        ["lead-in", "otherwise", "stop-on-error"],
        "Full fixture pipeline: take in the enquiry; run the sanctions screening and the vessel position "
        "check concurrently; then for a time charter collect the first hire in advance, otherwise "
        "appoint a load-port agent. Should any of that fail, alert the chartering desk and stop.",
        "fixture",
        [
            '.then("record", receive_fixture_request)',
            '.sync("checks", [screen_sanctions, check_vessel_position])',
            '.split("charter_type", is_time_charter, [collect_hire_deposit], [nominate_load_agent])',
            ".on_error(alert_chartering_desk)",
        ],
        ["log_fixture_issue", "charterer_cleared"],
        16,
        [],
    ),
    # ------------------------------------------------------------------ dental
    (
        "sequence",
        "dental",
        ["arrows"],
        "impression comes in -> design the crown -> mill it",
        "crown_case",
        [
            '.then("intake", receive_impression)',
            '.then("design", design_crown)',
            '.then("mill", mill_restoration)',
        ],
        ["scan_model", "glaze_and_fire"],
        13,
        [],
    ),
    (
        "sync",
        "dental",
        ["question", "side-by-side"],
        "Could the shade matching and the model printing run in parallel once the stone model has "
        "been digitised? Afterwards one of the technicians designs the crown.",
        "crown_case",
        [
            '.then("scan", scan_model)',
            '.sync("prep", [match_shade, print_model])',
            '.then("design", design_crown)',
        ],
        ["receive_impression", "mill_restoration"],
        14,
        [],
    ),
    (
        "split",
        "dental",
        ["passive", "otherwise"],
        "After quality inspection, rush cases are sent out by overnight express; all the others go "
        "with the regular courier. The practice is billed last.",
        "crown_case",
        [
            '.then("inspect", quality_inspect)',
            '.split("dispatch", is_rush_case, [ship_overnight], [ship_to_practice])',
            '.then("bill", bill_practice)',
        ],
        ["impression_is_usable", "email_dentist"],
        15,
        [],
    ),
    (
        "split_only_true",
        "dental",
        ["declarative", "no-else"],
        "A usable impression gets scanned; an unusable one is simply skipped past. Whatever happened, "
        "the dentist receives a status email afterwards.",
        "crown_case",
        [
            '.split("scan_if_usable", impression_is_usable, [scan_model])',
            '.then("update", email_dentist)',
        ],
        ["is_rush_case", "print_model"],
        14,
        [],
    ),
    (
        "child",
        "dental",
        ["numbered-list", "sub-workflow"],
        "1. Log the impression.\n2. Run the implant abutment sub-workflow and fold its result into the "
        "case.\n3. Ship the case to the practice.",
        "implant_case",
        [
            '.then("intake", receive_impression)',
            '.child("abutment", implant_abutment_workflow, merge_abutment)',
            '.then("ship", ship_to_practice)',
        ],
        ["denture_setup_workflow", "merge_denture_setup"],
        14,
        ["ship_overnight"],
    ),
    (
        "on_error",
        "dental",
        ["lead-in", "passive", "stop-on-error"],
        "Standard crown job: the crown is designed, milled, and then glazed and fired. In case any of "
        "those stages throws an error, the case is put on hold and nothing further happens.",
        "crown_case",
        [
            '.then("design", design_crown)',
            '.then("mill", mill_restoration)',
            '.then("finish", glaze_and_fire)',
            ".on_error(put_case_on_hold)",
        ],
        ["note_case_problem", "quality_inspect"],
        14,
        [],
    ),
    (
        "sync_strategy",
        "dental",
        ["count-lead-in", "merge-strategy"],
        "Three things at once for every new case: scan the stone model, print a working model, match "
        "the shade. Should two of them touch the same field, keep whichever wrote last. Once they're "
        "done, design the crown.",
        "crown_case",
        [
            f'.sync("prep", [scan_model, print_model, match_shade], {LWW})',
            '.then("design", design_crown)',
        ],
        ["receive_impression", "mill_restoration"],
        13,
        [],
    ),
    (
        "interrupt",
        "dental",
        ["dash", "question-aside", "continue-on-error"],
        "Mill the restoration, then inspect it — if the inspection finds the fit is off, that's the "
        "end of the run. Problems along the way? Don't stop; note them on the case and move on.",
        "crown_case",
        [
            '.then("mill", mill_restoration)',
            '.then("inspect", quality_inspect, can_interrupt=True)',
            ".on_error(note_case_problem, stop=False)",
        ],
        ["put_case_on_hold", "glaze_and_fire"],
        14,
        [],
    ),
    (
        "complex",
        "dental",
        ["conditional-lead", "else", "stop-on-error"],
        "When an impression arrives, log it. Then match the shade while the working model is printed. "
        "Next: if it's a rush case, ship it overnight, else send it with the regular courier. Any "
        "failure puts the case on hold (and stops).",
        "crown_case",
        [
            '.then("intake", receive_impression)',
            '.sync("prep", [match_shade, print_model])',
            '.split("dispatch", is_rush_case, [ship_overnight], [ship_to_practice])',
            ".on_error(put_case_on_hold)",
        ],
        ["note_case_problem", "impression_is_usable"],
        16,
        [],
    ),
    # ------------------------------------------------------------------ orchard
    (
        "sequence",
        "orchard",
        ["passive"],
        "The block gets picked, the bins are weighed, and the season log is updated with the figures.",
        "harvest",
        [
            '.then("pick", pick_block)',
            '.then("weigh", weigh_bins)',
            '.then("log", update_harvest_log)',
        ],
        ["grade_fruit", "pay_pickers"],
        13,
        [],
    ),
    (
        "sync",
        "orchard",
        ["lead-in", "parallel"],
        "Ripeness check: take samples, test the sugar levels and the firmness in parallel, then book "
        "a picking crew.",
        "ripeness",
        [
            '.then("sample", sample_fruit)',
            '.sync("tests", [test_sugar_levels, test_firmness])',
            '.then("crew", schedule_picking_crew)',
        ],
        ["fruit_is_ripe", "pick_block"],
        14,
        [],
    ),
    (
        "split",
        "orchard",
        ["arrows", "short-sentences"],
        "Grade the fruit. Fresh-market lots → cold storage; everything else goes to the cider press. "
        "Finally record the harvest in the log.",
        "harvest",
        [
            '.then("grade", grade_fruit)',
            '.split("route", grade_is_fresh_market, [move_to_cold_storage], [send_to_cider_press])',
            '.then("log", update_harvest_log)',
        ],
        ["fruit_is_ripe", "weigh_bins"],
        15,
        [],
    ),
    (
        "split_only_true",
        "orchard",
        ["question", "only-when"],
        "Can you make it so a picking crew is only booked when the fruit is ripe? The season log should "
        "be updated no matter what.",
        "ripeness",
        [
            '.split("crew_if_ripe", fruit_is_ripe, [schedule_picking_crew])',
            '.then("log", update_harvest_log)',
        ],
        ["grade_is_fresh_market", "pick_block"],
        14,
        [],
    ),
    (
        "child",
        "orchard",
        ["lowercase", "parenthetical"],
        "weigh the bins, hand the fruit over to the packhouse sub-workflow (merge its carton counts "
        "back in), and pay the pickers at the end",
        "harvest",
        [
            '.then("weigh", weigh_bins)',
            '.child("pack", packhouse_run, merge_packout)',
            '.then("pay", pay_pickers)',
        ],
        ["residue_testing", "merge_residue_results"],
        15,
        [],
    ),
    (
        "on_error",
        "orchard",
        ["aside", "stop-on-error"],
        "Pick the block, weigh the bins (we use the scale by the shed), then move them into cold "
        "storage. On any error, text the orchard manager and halt.",
        "harvest",
        [
            '.then("pick", pick_block)',
            '.then("weigh", weigh_bins)',
            '.then("store", move_to_cold_storage)',
            ".on_error(notify_orchard_manager)",
        ],
        ["flag_in_harvest_log", "send_to_cider_press"],
        14,
        [],
    ),
    (
        "sync_strategy",
        "orchard",
        ["bullets", "merge-strategy"],
        "All at the same time:\n* sugar test\n* firmness test\n* grading the fruit\nConflicting writes: "
        "the last write wins. After that, update the harvest log.",
        "harvest",
        [
            f'.sync("assess", [test_sugar_levels, test_firmness, grade_fruit], {LWW})',
            '.then("log", update_harvest_log)',
        ],
        ["sample_fruit", "grade_is_fresh_market"],
        13,
        [],
    ),
    (
        "interrupt",
        "orchard",
        ["sequence-words", "continue-on-error"],
        "Sample the fruit first. Next test the sugar levels, and if that test decides it's too early "
        "to pick, stop the run. Should something fail, don't abort — flag it in the harvest log and "
        "carry on.",
        "ripeness",
        [
            '.then("sample", sample_fruit)',
            '.then("sugar", test_sugar_levels, can_interrupt=True)',
            ".on_error(flag_in_harvest_log, stop=False)",
        ],
        ["notify_orchard_manager", "fruit_is_ripe"],
        14,
        ["update_harvest_log"],
    ),
    (
        "complex",
        "orchard",
        ["semicolons", "unless", "stop-on-error"],
        "Pick the block; weigh the bins and grade the fruit concurrently; unless the grade comes out "
        "fresh-market, the bins go to the cider press (fresh-market fruit goes to cold storage "
        "instead). If anything breaks, notify the orchard manager and stop.",
        "harvest",
        [
            '.then("pick", pick_block)',
            '.sync("sort", [weigh_bins, grade_fruit])',
            '.split("route", grade_is_fresh_market, [move_to_cold_storage], [send_to_cider_press])',
            ".on_error(notify_orchard_manager)",
        ],
        ["flag_in_harvest_log", "fruit_is_ripe"],
        16,
        [],
    ),
]

# ====================================================================== freeform domains
FF_SCORES = {
    "burn": "BurnPermitScore(permit_id: str, parcel: str, burn_date: str)",
    "bike": "BikeRepairScore(ticket_id: str, customer: str, bike_model: str)",
    "telescope": "ObservingScore(proposal_id: str, observer: str, target: str)",
    "kennel": "BoardingScore(booking_ref: str, dog_name: str, nights: int)",
    "piano": "PianoVisitScore(visit_id: str, client: str, instrument: str)",
}

FF_POOLS: dict[str, dict[str, tuple[str, str]]] = {
    # wildfire-season burn permits for landholders
    "burn": {
        "inspect_pile": (
            "note",
            "Send a ranger to look at the pile's size, clearance and water supply.",
        ),
        "charge_fee": ("note", "Bill the applicant the burning authorisation fee."),
        "lodge_application": (
            "note",
            "Record a landholder's request to burn brush or slash on their land.",
        ),
        "fetch_fire_weather": (
            "note",
            "Get the forecast wind, humidity and fire-danger rating for the parcel on the date; returns True when conditions rule the burn out.",
        ),
        "grant_authorisation": ("note", "Issue the signed burning authorisation to the applicant."),
        "refuse_authorisation": ("note", "Send the applicant a refusal with the reason."),
        "alert_neighbours": ("note", "Text the adjoining landholders about the planned burn."),
        "inform_dispatch": (
            "note",
            "Tell the fire dispatch centre, so smoke reports are not treated as wildfires.",
        ),
        "embargo_declared": (
            "condition",
            "True when a total fire ban covers the parcel on that date.",
        ),
        "danger_is_low": (
            "condition",
            "True when the forecast fire-danger rating is low or moderate.",
        ),
        "site_visit": (
            "cadence",
            "Sub-workflow: book a ranger, visit the land, file the site report.",
        ),
        "fold_site_report": ("merge", "Copy the ranger's site report into the permit."),
        "hazard_reduction_plan": (
            "cadence",
            "Sub-workflow: draft a larger prescribed-burn plan with the fire brigade.",
        ),
        "fold_hazard_plan": ("merge", "Copy the prescribed-burn plan into the permit."),
        "page_duty_officer": (
            "handler",
            "Page the duty fire officer with the error; the run stops.",
        ),
        "jot_in_register": (
            "handler",
            "Note the error in the permit register and go on with the next step.",
        ),
    },
    # a bicycle repair workshop
    "bike": {
        "wash_frame": ("note", "Clean and degrease the frame."),
        "book_in_job": (
            "note",
            "Create a workshop ticket with the customer's contact details and the bike.",
        ),
        "diagnose_drivetrain": (
            "note",
            "Inspect chain, cassette and derailleurs for wear and note what is needed.",
        ),
        "bleed_brakes": ("note", "Bleed the hydraulic brakes and replace the pads if worn."),
        "true_wheels": ("note", "True both wheels and even out the spoke tension."),
        "order_parts": ("note", "Order replacement components from the distributor."),
        "quote_customer": ("note", "Send the customer an estimate of labour and parts."),
        "text_collection_ready": ("note", "Message the customer that the bike can be picked up."),
        "take_payment": ("note", "Charge the customer's card for the work."),
        "is_ebike": ("condition", "True when the bike has an electric motor and battery."),
        "under_warranty": (
            "condition",
            "True when the frame or component is still covered by the maker's warranty.",
        ),
        "motor_service": (
            "cadence",
            "Sub-workflow: run the maker's motor diagnostics tool and update the firmware.",
        ),
        "attach_motor_log": (
            "merge",
            "Copy the motor diagnostics and firmware version into the ticket.",
        ),
        "suspension_overhaul": (
            "cadence",
            "Sub-workflow: strip, clean and re-oil the fork and the shock.",
        ),
        "attach_suspension_log": (
            "merge",
            "Copy the fork and shock service notes into the ticket.",
        ),
        "shout_to_mechanic": ("handler", "Alert the head mechanic about the error; the run stops."),
        "scribble_on_ticket": ("handler", "Add the error to the ticket and keep going."),
    },
    # observatory telescope-time proposals and remote nights
    "telescope": {
        "ship_calibration_frames": (
            "note",
            "Send the observer bias, dark and flat frames for their instrument.",
        ),
        "register_proposal": (
            "note",
            "Record an observing proposal: target, instrument and requested nights.",
        ),
        "check_visibility": (
            "note",
            "Compute when the target is above the horizon from the site during the term.",
        ),
        "referee_review": (
            "note",
            "Send the proposal to two external referees and collect their grades.",
        ),
        "allocate_nights": ("note", "Put the proposal's nights into the observing schedule."),
        "decline_proposal": ("note", "Tell the observer the proposal was not given time."),
        "open_dome_session": (
            "note",
            "Unlock the dome and start the observer's remote session; returns True when the safety system forbids observing.",
        ),
        "archive_raw_data": ("note", "Copy the night's raw frames to the long-term archive."),
        "email_pi": ("note", "Email the principal investigator a summary."),
        "moon_too_bright": (
            "condition",
            "True when the moon is more than 70% illuminated on the requested nights.",
        ),
        "graded_above_cutoff": (
            "condition",
            "True when the referees' mean grade passes the time-allocation cutoff.",
        ),
        "pipeline_reduction": (
            "cadence",
            "Sub-workflow: debias, flat-field and stack the raw frames into science images.",
        ),
        "store_reduced_products": (
            "merge",
            "Copy the paths of the reduced science images into the proposal.",
        ),
        "weather_watch": (
            "cadence",
            "Sub-workflow: poll the all-sky camera and humidity sensor through the night.",
        ),
        "store_weather_summary": ("merge", "Copy the night's weather summary into the proposal."),
        "wake_support_astronomer": (
            "handler",
            "Phone the on-call support astronomer about the error; the run stops.",
        ),
        "log_to_night_report": ("handler", "Write the error into the night report and continue."),
    },
    # dog boarding kennels
    "kennel": {
        "collect_deposit": ("note", "Take the 30% deposit from the owner's card."),
        "take_reservation": (
            "note",
            "Record the stay: dates, the dog, the owner's contact and diet.",
        ),
        "verify_vaccinations": (
            "note",
            "Check the dog's vaccination card is valid for rabies and kennel cough.",
        ),
        "assign_run": ("note", "Allocate an indoor-outdoor pen for the stay."),
        "prepare_meal_plan": ("note", "Write the feeding schedule from the owner's diet notes."),
        "schedule_walks": ("note", "Put the dog on the walkers' rota."),
        "send_daily_photo": ("note", "Set up a daily photo update to the owner."),
        "groom_before_pickup": ("note", "Bath and brush the dog before the owner collects it."),
        "settle_invoice": ("note", "Charge the balance of the stay to the owner's card."),
        "is_puppy": ("condition", "True when the dog is under six months old."),
        "needs_medication": (
            "condition",
            "True when the owner listed medicines the dog must be given.",
        ),
        "behaviour_assessment": (
            "cadence",
            "Sub-workflow: a trial half-day with other dogs in the group yard, observed by staff.",
        ),
        "merge_temperament": ("merge", "Copy the assessment's temperament notes onto the booking."),
        "vet_check": ("cadence", "Sub-workflow: book and record a visit by the partner vet."),
        "merge_vet_notes": ("merge", "Copy the vet's notes onto the booking."),
        "ring_owner": ("handler", "Phone the owner about the problem; the run stops."),
        "pin_to_staff_board": ("handler", "Pin the error to the staff board and continue."),
    },
    # piano tuning and repair visits
    "piano": {
        "book_appointment": ("note", "Put the appointment in the technician's diary."),
        "measure_pitch": ("note", "Measure how far the instrument has dropped below A440."),
        "raise_pitch": ("note", "Do a rough pitch-raise pass before the fine tuning."),
        "fine_tune": ("note", "Tune every unison and octave to the target temperament."),
        "regulate_action": ("note", "Adjust the hammers, key dip and let-off."),
        "replace_string": ("note", "Fit a new string where one has broken."),
        "humidity_reading": (
            "note",
            "Record the room's humidity and temperature near the instrument.",
        ),
        "issue_receipt": ("note", "Send the client a receipt for the visit."),
        "remind_next_service": (
            "note",
            "Add a reminder to contact the client again in six months.",
        ),
        "drifted_far": ("condition", "True when the pitch is more than 15 cents flat."),
        "is_grand": ("condition", "True when the instrument is a grand rather than an upright."),
        "soundboard_repair": (
            "cadence",
            "Sub-workflow: shim cracks in the soundboard and reglue loose ribs.",
        ),
        "merge_repair_notes": ("merge", "Copy the soundboard repair notes into the visit record."),
        "restoration_estimate": ("cadence", "Sub-workflow: inspect and price a full restoration."),
        "merge_estimate": ("merge", "Copy the restoration quote into the visit record."),
        "apologise_and_reschedule": (
            "handler",
            "Email the client an apology with new dates; the run stops.",
        ),
        "note_for_office": ("handler", "Leave a note for the office about the error and carry on."),
    },
}

F: list[tuple] = [
    # ------------------------------------------------------------------ burn permits
    (
        "burn-01",
        "burn",
        ["early-stop", "continue-on-error"],
        "Farmers around Kettle Creek keep asking whether they can get rid of their hedge cuttings "
        "before the rains come. When one writes in, take down what they want, then see what the "
        "forecast says about that day; a risky outlook ends things right there. If it looks fine, "
        "send them the go-ahead. Our computers keep crashing, so when something breaks just make a "
        "record of it and keep moving.",
        "burning_request",
        [
            '.then("intake", lodge_application)',
            '.then("outlook", fetch_fire_weather, can_interrupt=True)',
            '.then("approve", grant_authorisation)',
            ".on_error(jot_in_register, stop=False)",
        ],
        ["page_duty_officer", "refuse_authorisation"],
        14,
        ["danger_is_low"],
    ),
    (
        "burn-02",
        "burn",
        ["sub-workflow", "parallel"],
        "Mrs Albers on Ridge Road wants to clear a big stack of dead pine, and she has asked twice "
        "already. Before anything is decided a ranger must come out to her property — run that whole "
        "procedure and put what the ranger found on her file. After that, at the same time, let the "
        "people living next door know and give the emergency call centre a heads-up.",
        "burning_request",
        [
            '.child("ranger", site_visit, fold_site_report)',
            '.sync("heads_up", [alert_neighbours, inform_dispatch])',
        ],
        ["hazard_reduction_plan", "fold_hazard_plan"],
        14,
        ["inspect_pile"],
    ),
    (
        "burn-03",
        "burn",
        ["no-else", "stop-on-error"],
        "It has been a dry summer, and the council now asks money for these. Bill the landholder "
        "first. Then, should a total ban be on for that day, write back turning them down and say "
        "why; otherwise nothing extra is needed. If any of this errors out, phone whoever is rostered "
        "on and halt.",
        "burning_request",
        [
            '.then("bill", charge_fee)',
            '.split("banned", embargo_declared, [refuse_authorisation])',
            ".on_error(page_duty_officer)",
        ],
        ["jot_in_register", "danger_is_low"],
        14,
        [],
    ),
    # ------------------------------------------------------------------ bike workshop
    (
        "bike-01",
        "bike",
        ["sequence", "aside"],
        "We're a two-person shop in Leith and spring is chaos. When someone drops off a bike, open a "
        "record for it, then have the chain and gears looked over, and finally email them a price "
        "for the work. Coffee's on me if this saves us time.",
        "workshop",
        [
            '.then("open", book_in_job)',
            '.then("look_over", diagnose_drivetrain)',
            '.then("price", quote_customer)',
        ],
        ["wash_frame", "take_payment"],
        14,
        [],
    ),
    (
        "bike-02",
        "bike",
        ["sub-workflow", "stop-on-error"],
        "This is for the e-bike corner only, so assume every bike here has a battery. Run the maker's "
        "procedure for the propulsion unit (a health check plus new firmware) and keep its output with the repair. "
        "Then let the owner know they can come and get it. If anything fails, stop, and make sure "
        "Tomasz, our lead wrench, hears about it.",
        "workshop",
        [
            '.child("drive_unit", motor_service, attach_motor_log)',
            '.then("ready", text_collection_ready)',
            ".on_error(shout_to_mechanic)",
        ],
        ["suspension_overhaul", "attach_suspension_log", "scribble_on_ticket"],
        14,
        [],
    ),
    (
        "bike-03",
        "bike",
        ["parallel", "no-else"],
        "Saturday rush: the spoke work and the hydraulic stoppers can be done simultaneously, two of "
        "us on two stands. Once both are finished, if the manufacturer's guarantee still applies, "
        "request a free replacement from the supplier; if not, skip that. Then settle up on their "
        "card.",
        "workshop",
        [
            '.sync("stands", [true_wheels, bleed_brakes])',
            '.split("guarantee", under_warranty, [order_parts])',
            '.then("settle", take_payment)',
        ],
        ["is_ebike", "quote_customer"],
        14,
        [],
    ),
    # ------------------------------------------------------------------ telescope time
    (
        "telescope-01",
        "telescope",
        ["parallel", "no-else"],
        "Dr. Ferreira's group sends us about forty requests each semester, and the committee deadline "
        "is March 3rd. For every incoming one: file it; then, concurrently, work out when the galaxy "
        "climbs over our horizon and get two outside experts to mark it; finally, if it scored well "
        "enough, give it slots on the calendar.",
        "semester",
        [
            '.then("file", register_proposal)',
            '.sync("assess", [check_visibility, referee_review])',
            '.split("if_good", graded_above_cutoff, [allocate_nights])',
        ],
        ["decline_proposal", "moon_too_bright"],
        15,
        [],
    ),
    (
        "telescope-02",
        "telescope",
        ["early-stop", "sub-workflow", "continue-on-error"],
        "Remote observers connect from all over — last week somebody in Perth. When it's their turn, "
        "unlock the roof and start their connection; should the safety system say conditions are "
        "unsafe, everything halts then and there. Afterwards the captured images go through the full "
        "processing sequence and the resulting files are recorded against their submission. A "
        "glitch shouldn't kill the evening: write it down in the observing diary and carry on.",
        "remote_night",
        [
            '.then("start", open_dome_session, can_interrupt=True)',
            '.child("process", pipeline_reduction, store_reduced_products)',
            ".on_error(log_to_night_report, stop=False)",
        ],
        ["weather_watch", "store_weather_summary", "wake_support_astronomer"],
        15,
        [],
    ),
    (
        "telescope-03",
        "telescope",
        ["either-or", "stop-on-error"],
        "Faint-galaxy programmes are pointless around a full lunar phase. So when the glare on the "
        "asked-for dates is excessive, send the applicant a polite no; otherwise pencil their dates "
        "into the timetable. Then mail the lead scientist a recap. Anything failing means ringing "
        "whoever is on call tonight and stopping.",
        "semester",
        [
            '.split("lunar", moon_too_bright, [decline_proposal], [allocate_nights])',
            '.then("recap", email_pi)',
            ".on_error(wake_support_astronomer)",
        ],
        ["log_to_night_report", "graded_above_cutoff"],
        15,
        [],
    ),
    # ------------------------------------------------------------------ kennels
    (
        "kennel-01",
        "kennel",
        ["sequence", "no-else", "aside"],
        "Biscuit, a nervous spaniel, is coming for ten days over Christmas. Please write down the "
        "details of her stay, confirm her jabs are current, then give her a pen — ideally away from "
        "the huskies. Families of very young pups (under six months) like a picture every day, so "
        "arrange that for those only.",
        "boarding",
        [
            '.then("intake", take_reservation)',
            '.then("jabs", verify_vaccinations)',
            '.then("pen", assign_run)',
            '.split("young", is_puppy, [send_daily_photo])',
        ],
        ["needs_medication", "collect_deposit"],
        14,
        [],
    ),
    (
        "kennel-02",
        "kennel",
        ["sub-workflow", "parallel"],
        "Any newcomer spends a trial afternoon in the group yard first; go through that whole procedure and "
        "copy what our team observed about her character onto her file. After that two things can "
        "happen side by side: sort out what and when she eats, and put her on the rota for outings.",
        "boarding",
        [
            '.child("trial", behaviour_assessment, merge_temperament)',
            '.sync("routine", [prepare_meal_plan, schedule_walks])',
        ],
        ["vet_check", "merge_vet_notes"],
        14,
        [],
    ),
    (
        "kennel-03",
        "kennel",
        ["sequence", "stop-on-error"],
        "Going-home day. Charge the remaining balance to their card, then give the pooch a bath and "
        "brush so she looks her best for the family. If anything fails, call the family straight "
        "away and don't continue.",
        "departure",
        [
            '.then("pay", settle_invoice)',
            '.then("tidy", groom_before_pickup)',
            ".on_error(ring_owner)",
        ],
        ["pin_to_staff_board", "collect_deposit"],
        14,
        [],
    ),
    # ------------------------------------------------------------------ piano visits
    (
        "piano-01",
        "piano",
        ["either-or", "two-note-branch"],
        "Our technician, Marguerite, has looked after the Steinway at the Fairview care home for "
        "twelve years. Once she's there she checks how flat it has gone. If it has sagged a long way, "
        "she does a coarse first pass and then the careful one; otherwise, straight to the careful one. "
        "Finally, mark the calendar to contact them again in half a year.",
        "tuning",
        [
            '.then("check", measure_pitch)',
            '.split("sagged", drifted_far, [raise_pitch, fine_tune], [fine_tune])',
            '.then("later", remind_next_service)',
        ],
        ["is_grand", "regulate_action"],
        14,
        [],
    ),
    (
        "piano-02",
        "piano",
        ["sub-workflow", "continue-on-error"],
        "St Aldhelm's in Dorset has an old upright whose board has cracked. First jot down the room's "
        "dampness and warmth, then do the full crack-mending procedure (shims, glue on loose ribs) "
        "and add its findings to our records. If something fails, just leave word for Jan at the "
        "front desk and keep going.",
        "church_upright",
        [
            '.then("room", humidity_reading)',
            '.child("mend", soundboard_repair, merge_repair_notes)',
            ".on_error(note_for_office, stop=False)",
        ],
        ["restoration_estimate", "merge_estimate", "apologise_and_reschedule"],
        15,
        [],
    ),
    (
        "piano-03",
        "piano",
        ["parallel", "merge-strategy", "stop-on-error"],
        "Concert instruments before a recital: while one of us works on the keys' feel and the "
        "hammers, the other swaps the snapped wire. If both touch the same field, refuse rather than "
        "guess. Then send the hall its bill. If any of it breaks, say sorry to the hall, offer them "
        "other dates, and stop.",
        "recital_prep",
        [
            '.sync("bench", [regulate_action, replace_string], merge_strategy="fail_on_conflict")',
            '.then("bill", issue_receipt)',
            ".on_error(apologise_and_reschedule)",
        ],
        ["note_for_office", "is_grand"],
        14,
        [],
    ),
]
