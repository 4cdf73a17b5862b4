"""Source data of held-out set 4 (read by make_heldout4.py through evals/set_builder.py).

W rows:  (pattern, domain, tags, task, cadence name, steps, distractors, registry size, avoid)
F rows:  (key, domain, tags, task, cadence name, steps, distractors, registry size, avoid)

Each registry is the names the steps use, plus the distractors, topped up from the domain's pool
in pool order (never with a name in `avoid`). The first entry of every pool is a name no
reference of that domain uses, so the first registry entry is never a needed one.
"""

from __future__ import annotations

N, C, M, H, K = "note", "condition", "merge", "handler", "cadence"

# ====================================================================== wording set
SCORES = {
    "brewery": "BatchScore(batch_id: str, recipe: str, volume_l: float, gravity: float, abv: float, status: str, issues: list)",
    "print": "PrintJob(job_id: str, customer: str, pages: int, copies: int, paper: str, price: float, status: str)",
    "marathon": "RaceEntry(runner_id: str, name: str, age: int, distance: str, bib: int, wave: str, paid: bool)",
}

POOLS = {
    "brewery": {
        "order_malt": (N, "Places an order with the maltster for next week's grain."),
        "mill_grain": (N, "Cracks the batch's grain in the roller mill."),
        "mash_grain": (N, "Steeps the milled grain in hot water to make the wort."),
        "boil_wort": (N, "Boils the wort and records the boil time."),
        "add_hops": (N, "Adds the recipe's hop additions to the wort."),
        "measure_gravity": (N, "Reads the gravity with the hydrometer and stores it on the batch."),
        "gravity_on_target": (
            C,
            "True when the measured gravity is within the recipe's target range.",
        ),
        "add_malt_extract": (N, "Stirs in dried malt extract to raise a low gravity."),
        "sanitize_fermenter": (N, "Cleans and sanitises the fermenter the batch will go into."),
        "fermenter_available": (C, "True when a clean fermenter is free for this batch."),
        "reserve_fermenter": (N, "Books the next fermenter that comes free for this batch."),
        "pitch_yeast": (N, "Adds the yeast to the cooled wort to start fermentation."),
        "compute_abv": (N, "Works out the alcohol by volume from the original and final gravity."),
        "taste_panel": (N, "Has the tasting panel score the beer and note their comments."),
        "stop_if_infected": (
            N,
            "Checks the lab result for infection; returns True when the batch is infected and the run should end.",
        ),
        "contamination_detected": (
            C,
            "True when the lab found wild yeast or bacteria in the sample.",
        ),
        "send_sample_to_lab": (N, "Sends a sample of the batch to the lab for analysis."),
        "cold_crash": (N, "Chills the fermenter close to freezing so the yeast drops out."),
        "keg_batch": (N, "Fills kegs from the fermenter."),
        "bottle_batch": (N, "Fills and caps bottles from the fermenter."),
        "is_seasonal_release": (C, "True when the batch is a limited seasonal beer."),
        "notify_taproom": (N, "Tells the taproom staff the beer is coming and when."),
        "update_brew_log": (N, "Writes the batch's readings and steps into the brew log."),
        "lab_analysis": (
            K,
            "Sub-cadence: the lab's tests on a sample (gravity, pH, microbes), on its own score.",
        ),
        "merge_lab_report": (M, "Copies the lab's results back onto the batch."),
        "packaging_line": (
            K,
            "Sub-cadence: packaging the batch (fill, cap, label, palletise), on its own score.",
        ),
        "merge_packaging_result": (M, "Copies the packaged counts back onto the batch."),
        "alert_head_brewer": (H, "Messages the head brewer with the failed step and its error."),
        "record_batch_issue": (H, "Adds the failed step and its error to the batch's issue list."),
    },
    "print": {
        "archive_artwork": (N, "Stores the customer's artwork files in the job archive."),
        "preflight_files": (N, "Checks the supplied PDFs for fonts, bleed and resolution."),
        "convert_to_cmyk": (N, "Converts the artwork's colours to CMYK for print."),
        "impose_pages": (N, "Arranges the pages on the press sheets."),
        "print_proof": (N, "Prints a hard-copy proof of the job."),
        "email_proof": (N, "Emails a PDF proof to the customer for approval."),
        "customer_approved_proof": (C, "True when the customer has signed off the proof."),
        "make_plates": (N, "Burns the printing plates for the offset press."),
        "run_offset_press": (N, "Prints the job on the offset press."),
        "run_digital_press": (N, "Prints the job on the digital press."),
        "is_large_run": (C, "True when the job is more than 500 copies."),
        "trim_sheets": (N, "Cuts the printed sheets to their final size."),
        "bind_booklets": (N, "Folds and staples the sheets into booklets."),
        "needs_binding": (C, "True when the job is a booklet or brochure that has to be bound."),
        "pack_order": (N, "Boxes the finished job and labels the boxes."),
        "quote_price": (N, "Works out the job's price from pages, copies and paper."),
        "reserve_paper": (N, "Sets aside the paper stock the job needs."),
        "paper_in_stock": (C, "True when the warehouse has enough of the job's paper."),
        "is_rush_job": (C, "True when the customer paid for next-day turnaround."),
        "book_courier": (N, "Books a courier to collect the finished job."),
        "notify_customer_ready": (N, "Tells the customer their job is ready."),
        "invoice_customer": (N, "Sends the customer the invoice for the job."),
        "stop_if_credit_hold": (
            N,
            "Checks the customer's account; returns True when it is on credit hold and the run should end.",
        ),
        "finishing_line": (
            K,
            "Sub-cadence: finishing (trim, fold, bind, laminate), on its own score.",
        ),
        "merge_finishing_result": (M, "Copies the finishing counts and waste back onto the job."),
        "shipping_quote": (
            K,
            "Sub-cadence: gets delivery quotes from three couriers, on its own score.",
        ),
        "merge_shipping_quote": (M, "Copies the cheapest delivery quote onto the job."),
        "alert_shift_lead": (H, "Messages the shift lead with the failed step and its error."),
        "log_job_problem": (H, "Writes the failed step and its error to the job's problem log."),
    },
    "marathon": {
        "send_newsletter": (N, "Emails the monthly race newsletter to every subscriber."),
        "validate_entry_form": (
            N,
            "Checks the entry form has every required field filled in correctly.",
        ),
        "charge_entry_fee": (N, "Takes the entry fee from the runner's card."),
        "apply_discount_code": (N, "Applies the runner's discount code to the fee."),
        "verify_qualifying_time": (
            N,
            "Looks up the runner's qualifying time and stores it on the entry.",
        ),
        "check_medical_declaration": (
            N,
            "Reads the runner's medical declaration and flags anything the medics should see.",
        ),
        "has_qualifying_time": (
            C,
            "True when the runner has a verified time under the qualifying cutoff.",
        ),
        "is_under_18": (C, "True when the runner is younger than 18 on race day."),
        "race_is_full": (C, "True when every place in the runner's distance is taken."),
        "is_charity_entry": (C, "True when the runner entered through a charity place."),
        "assign_bib_number": (N, "Gives the runner the next free bib number."),
        "assign_start_wave": (N, "Puts the runner in a start wave based on their expected pace."),
        "add_to_waitlist": (N, "Puts the runner on the waiting list for their distance."),
        "request_guardian_consent": (N, "Emails the runner's parent or guardian a consent form."),
        "order_tshirt": (N, "Orders the runner's race T-shirt in their size."),
        "send_confirmation_email": (N, "Emails the runner the status of their entry."),
        "refund_entry": (N, "Refunds the runner's entry fee."),
        "stop_if_duplicate_entry": (
            N,
            "Looks for an earlier entry by the same runner; returns True when one exists and the run should end.",
        ),
        "timing_chip_setup": (
            K,
            "Sub-cadence: registers and tests the runner's timing chip, on its own score.",
        ),
        "merge_timing_chip": (M, "Copies the chip id and test result back onto the entry."),
        "charity_pledge_flow": (
            K,
            "Sub-cadence: sets up the runner's fundraising page and pledge target, on its own score.",
        ),
        "merge_charity_pledge": (
            M,
            "Copies the fundraising page link and pledge target onto the entry.",
        ),
        "email_race_office": (H, "Emails the race office the failed step and its error."),
        "log_entry_error": (H, "Writes the failed step and its error to the entry's error log."),
    },
}

W = [
    # ------------------------------------------------------------ sequence
    (
        "sequence",
        "brewery",
        ["imperative", "lead-in"],
        "Brew day for a new batch: mill the grain, mash it, then boil the wort.",
        "brew_day",
        [
            '.then("mill", mill_grain)',
            '.then("mash", mash_grain)',
            '.then("boil", boil_wort)',
        ],
        ["add_hops", "pitch_yeast"],
        13,
        [],
    ),
    (
        "sequence",
        "print",
        ["passive", "semicolon"],
        "Each incoming job is preflighted first; its pages are then imposed, and a hard-copy "
        "proof is printed last.",
        "prepress",
        [
            '.then("preflight", preflight_files)',
            '.then("impose", impose_pages)',
            '.then("proof", print_proof)',
        ],
        ["email_proof", "convert_to_cmyk"],
        14,
        [],
    ),
    (
        "sequence",
        "marathon",
        ["numbered", "lead-in", "lowercase"],
        "New entry:\n1. make sure the form is filled in properly\n2. take the entry fee\n"
        "3. email the runner to confirm",
        "new_entry",
        [
            '.then("form", validate_entry_form)',
            '.then("fee", charge_entry_fee)',
            '.then("confirm", send_confirmation_email)',
        ],
        ["apply_discount_code", "refund_entry"],
        12,
        [],
    ),
    # ------------------------------------------------------------ sync
    (
        "sync",
        "brewery",
        ["meanwhile", "synonyms"],
        "Cold-crash the batch first. Once it's cold, keg it; meanwhile send a sample off to "
        "the lab. When both are done, let the taproom know it's on its way.",
        "finish_batch",
        [
            '.then("crash", cold_crash)',
            '.sync("keg_and_sample", [keg_batch, send_sample_to_lab])',
            '.then("taproom", notify_taproom)',
        ],
        ["bottle_batch", "update_brew_log"],
        14,
        [],
    ),
    (
        "sync",
        "print",
        ["question", "while", "at_the_same_time"],
        "Could you make it so the job is printed on the offset press, then the sheets are "
        "trimmed while a courier is booked at the same time, and the customer only hears it's "
        "ready after both are done?",
        "after_press",
        [
            '.then("press", run_offset_press)',
            '.sync("trim_and_courier", [trim_sheets, book_courier])',
            '.then("tell", notify_customer_ready)',
        ],
        ["run_digital_press", "invoice_customer"],
        13,
        [],
    ),
    (
        "sync",
        "marathon",
        ["arrows", "both_at_once", "terse"],
        "entry form checked → bib number and start wave, both at once → confirmation email",
        "entry_numbers",
        [
            '.then("check", validate_entry_form)',
            '.sync("numbers", [assign_bib_number, assign_start_wave])',
            '.then("email", send_confirmation_email)',
        ],
        ["add_to_waitlist", "timing_chip_setup"],
        15,
        [],
    ),
    # ------------------------------------------------------------ split
    (
        "split",
        "brewery",
        ["unless", "negation", "whichever_way"],
        "After taking a gravity reading: unless the gravity is on target, stir in some malt "
        "extract; if it is, go ahead and pitch the yeast. Whichever way it goes, write it up in "
        "the brew log afterwards.",
        "gravity_check",
        [
            '.then("reading", measure_gravity)',
            '.split("on_target", gravity_on_target, [pitch_yeast], [add_malt_extract])',
            '.then("log", update_brew_log)',
        ],
        ["contamination_detected", "compute_abv"],
        14,
        [],
    ),
    (
        "split",
        "print",
        ["either_or_depending", "aside"],
        "Work out the price, then print the job on either the offset press or the digital one "
        "depending on whether it's a large run (over 500 copies goes offset). Invoice the "
        "customer after that.",
        "press_choice",
        [
            '.then("price", quote_price)',
            '.split("which_press", is_large_run, [run_offset_press], [run_digital_press])',
            '.then("invoice", invoice_customer)',
        ],
        ["is_rush_job", "make_plates"],
        15,
        [],
    ),
    (
        "split",
        "marathon",
        ["question", "otherwise", "semicolon"],
        "How would I set this up? Charge the fee; if their distance is already full, put them "
        "on the waiting list, otherwise give them a bib number; the confirmation email goes "
        "out last.",
        "place_runner",
        [
            '.then("fee", charge_entry_fee)',
            '.split("full", race_is_full, [add_to_waitlist], [assign_bib_number])',
            '.then("confirm", send_confirmation_email)',
        ],
        ["refund_entry", "is_charity_entry"],
        13,
        [],
    ),
    # ------------------------------------------------------------ split_only_true
    (
        "split_only_true",
        "brewery",
        ["lowercase", "only_if", "regardless"],
        "only if it's a seasonal beer: give the taproom a heads-up. then update the brew log, "
        "seasonal or not.",
        "seasonal",
        [
            '.split("seasonal", is_seasonal_release, [notify_taproom])',
            '.then("log", update_brew_log)',
        ],
        ["bottle_batch", "fermenter_available"],
        12,
        [],
    ),
    (
        "split_only_true",
        "print",
        ["positive_and_negative", "short"],
        "Rush jobs get a courier booked; normal ones don't need anything extra. After that, "
        "pack the order.",
        "dispatch",
        [
            '.split("rush", is_rush_job, [book_courier])',
            '.then("pack", pack_order)',
        ],
        ["is_large_run", "shipping_quote"],
        14,
        [],
    ),
    (
        "split_only_true",
        "marathon",
        ["passive", "aside"],
        "Guardian consent is requested for runners under 18 (adults skip this step), after "
        "which the T-shirt is ordered.",
        "minors",
        [
            '.split("minor", is_under_18, [request_guardian_consent])',
            '.then("shirt", order_tshirt)',
        ],
        ["is_charity_entry", "send_confirmation_email"],
        13,
        [],
    ),
    # ------------------------------------------------------------ child
    (
        "child",
        "brewery",
        ["arrows", "aside", "terse"],
        "gravity reading → lab analysis (run it as its own sub-cadence and merge the lab report "
        "back into the batch) → brew log",
        "lab_round",
        [
            '.then("reading", measure_gravity)',
            '.child("lab", lab_analysis, merge_lab_report)',
            '.then("log", update_brew_log)',
        ],
        ["packaging_line", "merge_packaging_result", "send_sample_to_lab"],
        15,
        [],
    ),
    (
        "child",
        "print",
        ["imperative", "long", "aside"],
        "Print the job on the offset press, then pass it through the finishing line — that's a "
        "sub-cadence of its own — and merge the finishing result back onto the job before you "
        "invoice the customer.",
        "finish_job",
        [
            '.then("press", run_offset_press)',
            '.child("finishing", finishing_line, merge_finishing_result)',
            '.then("invoice", invoice_customer)',
        ],
        ["shipping_quote", "merge_shipping_quote", "trim_sheets"],
        14,
        [],
    ),
    (
        "child",
        "marathon",
        ["lettered_list", "semicolon", "lead-in"],
        "Steps: (a) validate the entry form; (b) hand the entry to the charity pledge "
        "sub-workflow and merge the pledge details back; (c) send the confirmation email.",
        "pledge_entry",
        [
            '.then("form", validate_entry_form)',
            '.child("pledge", charity_pledge_flow, merge_charity_pledge)',
            '.then("confirm", send_confirmation_email)',
        ],
        ["timing_chip_setup", "merge_timing_chip"],
        13,
        ["is_charity_entry"],
    ),
    # ------------------------------------------------------------ on_error
    (
        "on_error",
        "brewery",
        ["question", "should_fail"],
        "How should I wire up the end of fermentation? I want the ABV worked out, then the "
        "tasting panel, then bottling. Should any of those fail, message the head brewer and "
        "stop the run.",
        "end_of_ferment",
        [
            '.then("abv", compute_abv)',
            '.then("panel", taste_panel)',
            '.then("bottle", bottle_batch)',
            ".on_error(alert_head_brewer)",
        ],
        ["record_batch_issue", "keg_batch"],
        13,
        [],
    ),
    (
        "on_error",
        "print",
        ["lowercase", "semicolon", "terse"],
        "convert to cmyk; make plates; run the offset press. on any failure: log it to the "
        "job's problem log and stop there.",
        "plates_and_press",
        [
            '.then("cmyk", convert_to_cmyk)',
            '.then("plates", make_plates)',
            '.then("press", run_offset_press)',
            ".on_error(log_job_problem)",
        ],
        ["alert_shift_lead", "run_digital_press"],
        15,
        [],
    ),
    (
        "on_error",
        "marathon",
        ["imperative", "negative_instruction"],
        "Validate the form, apply any discount code, then charge the fee. If a step fails, "
        "email the race office and don't go any further.",
        "take_payment",
        [
            '.then("form", validate_entry_form)',
            '.then("discount", apply_discount_code)',
            '.then("charge", charge_entry_fee)',
            ".on_error(email_race_office)",
        ],
        ["log_entry_error", "refund_entry"],
        14,
        [],
    ),
    # ------------------------------------------------------------ sync_strategy
    (
        "sync_strategy",
        "brewery",
        ["bullets", "lead-in"],
        "Quality checks, all three in parallel:\n- gravity reading\n- ABV calculation\n"
        "- tasting panel\nThey can write the same fields, so if they clash, the one listed last "
        "wins. Afterwards update the brew log.",
        "quality",
        [
            '.sync("checks", [measure_gravity, compute_abv, taste_panel], '
            'merge_strategy="last_write_wins")',
            '.then("log", update_brew_log)',
        ],
        ["send_sample_to_lab", "lab_analysis"],
        14,
        [],
    ),
    (
        "sync_strategy",
        "print",
        ["lead-in", "side_by_side"],
        "Pre-press, three things side by side: preflight the files, quote the price, and set "
        "aside the paper. If they end up setting the same field, the last of those three should "
        "win. Then email the proof.",
        "pre_press",
        [
            '.sync("prep", [preflight_files, quote_price, reserve_paper], '
            'merge_strategy="last_write_wins")',
            '.then("proof", email_proof)',
        ],
        ["print_proof", "paper_in_stock"],
        13,
        [],
    ),
    (
        "sync_strategy",
        "marathon",
        ["lowercase", "parenthetical", "at_the_same_time"],
        "run these three at the same time: verify the qualifying time, apply the discount code, "
        "read the medical declaration. (they can overwrite each other's fields; when that "
        "happens the last of the three wins.) then put the runner in a start wave.",
        "entry_checks",
        [
            '.sync("lookups", [verify_qualifying_time, apply_discount_code, '
            'check_medical_declaration], merge_strategy="last_write_wins")',
            '.then("wave", assign_start_wave)',
        ],
        ["has_qualifying_time", "assign_bib_number"],
        15,
        [],
    ),
    # ------------------------------------------------------------ interrupt
    (
        "interrupt",
        "brewery",
        ["prose", "carry_on"],
        "Send a sample to the lab and then look at the result: if the batch is infected, that's "
        "the end of the run. Errors shouldn't halt anything, though — record them as batch "
        "issues and carry on.",
        "infection_check",
        [
            '.then("sample", send_sample_to_lab)',
            '.then("infected", stop_if_infected, can_interrupt=True)',
            ".on_error(record_batch_issue, stop=False)",
        ],
        ["alert_head_brewer", "lab_analysis"],
        13,
        ["contamination_detected"],
    ),
    (
        "interrupt",
        "print",
        ["numbered", "lowercase", "if_so"],
        "1. preflight the files\n2. check whether the customer is on credit hold; if so, the "
        "run ends here\nerrors in either step: write them to the problem log and keep going.",
        "credit_gate",
        [
            '.then("preflight", preflight_files)',
            '.then("credit", stop_if_credit_hold, can_interrupt=True)',
            ".on_error(log_job_problem, stop=False)",
        ],
        ["alert_shift_lead", "archive_artwork"],
        12,
        [],
    ),
    (
        "interrupt",
        "marathon",
        ["lead-in", "arrows", "passive"],
        "Intake: validate the entry form → if the same runner is already entered, stop the run "
        "there. Errors are written to the entry's error log and never halt the run.",
        "dedupe",
        [
            '.then("form", validate_entry_form)',
            '.then("duplicate", stop_if_duplicate_entry, can_interrupt=True)',
            ".on_error(log_entry_error, stop=False)",
        ],
        ["email_race_office", "refund_entry"],
        14,
        [],
    ),
    # ------------------------------------------------------------ complex
    (
        "complex",
        "brewery",
        ["semicolon", "if_not", "at_the_same_time"],
        "Boil the wort; then add the hops and take a gravity reading at the same time; then, "
        "if a fermenter is free, pitch the yeast, and if not, book the next one that frees up; "
        "if anything breaks, alert the head brewer and stop.",
        "brew_to_ferment",
        [
            '.then("boil", boil_wort)',
            '.sync("hops_and_reading", [add_hops, measure_gravity])',
            '.split("fermenter", fermenter_available, [pitch_yeast], [reserve_fermenter])',
            ".on_error(alert_head_brewer)",
        ],
        ["record_batch_issue", "gravity_on_target", "sanitize_fermenter"],
        16,
        [],
    ),
    (
        "complex",
        "print",
        ["bullets", "lead-in", "if_not"],
        "Full job, please:\n* preflight\n* then, in parallel, impose the pages and reserve the "
        "paper\n* if the customer has approved the proof, send it to the offset press; if not, "
        "email them a fresh proof\n* any failure stops the job and the shift lead gets a message",
        "full_job",
        [
            '.then("preflight", preflight_files)',
            '.sync("layout_and_paper", [impose_pages, reserve_paper])',
            '.split("approved", customer_approved_proof, [run_offset_press], [email_proof])',
            ".on_error(alert_shift_lead)",
        ],
        ["log_job_problem", "print_proof", "run_digital_press"],
        16,
        [],
    ),
    (
        "complex",
        "marathon",
        ["while_also", "negation", "prose"],
        "Validate the entry form. After that, take the fee while also ordering the T-shirt. "
        "Runners without a qualifying time then go on the waiting list; the rest get a start "
        "wave. Any failure should stop the run and email the race office.",
        "full_entry",
        [
            '.then("form", validate_entry_form)',
            '.sync("fee_and_shirt", [charge_entry_fee, order_tshirt])',
            '.split("qualified", has_qualifying_time, [assign_start_wave], [add_to_waitlist])',
            ".on_error(email_race_office)",
        ],
        ["log_entry_error", "verify_qualifying_time"],
        15,
        [],
    ),
]

# ====================================================================== free-form set
FF_SCORES = {
    "kiln": "FiringScore(member: str, piece_count: int, weight_kg: float, cone: int, booking: str, fee: float, messages: list)",
    "locksmith": "CalloutScore(customer: str, address: str, lock_type: str, quote: float, technician: str, paid: bool)",
    "foodbank": "DonationScore(donor: str, kind: str, weight_kg: float, expiry: str, crates: dict, receipt_sent: bool)",
    "tailor": "AlterationScore(customer: str, garment: str, measurements: dict, price: float, ready_date: str, notes: list)",
    "festival": "SubmissionScore(title: str, director: str, runtime_min: int, fee_paid: bool, screener_url: str, status: str)",
}

FF_POOLS = {
    "kiln": {
        "reorder_stoneware_bags": (N, "Orders more bags of stoneware from the supplier."),
        "log_piece_mass": (N, "Weighs the member's pieces and records the total mass for billing."),
        "reserve_bisque_slot": (
            N,
            "Reserves space for the pieces in the next bisque (biscuit) firing.",
        ),
        "sms_pickup_estimate": (
            N,
            "Texts the member an estimated date when they can come and take their work home.",
        ),
        "inspect_foot_rings": (
            N,
            "Checks every piece's base is free of glaze so nothing sticks to the kiln shelves.",
        ),
        "charge_firing_fee": (N, "Charges the member's account for the firing."),
        "intended_for_tableware": (
            C,
            "True when any of the pieces is meant to hold food or drink.",
        ),
        "contains_metallic_oxides": (
            C,
            "True when a glaze used contains metallic oxides such as copper or manganese.",
        ),
        "dispatch_leach_sample": (N, "Sends one piece to the lab to be tested for lead leaching."),
        "collect_advance_payment": (N, "Takes the deposit for a booking."),
        "smoke_firing_session": (
            K,
            "Sub-cadence: runs a raku smoke-firing day and reports finished and broken pieces, on its own score.",
        ),
        "merge_session_outcome": (
            M,
            "Copies the finished and broken counts from a raku day onto the booking.",
        ),
        "colour_trial_series": (
            K,
            "Sub-cadence: fires a set of glaze test tiles and reports the results, on its own score.",
        ),
        "merge_trial_results": (M, "Copies the test-tile results onto the booking."),
        "alert_studio_lead": (H, "Messages the studio lead about the failed step and its error."),
        "record_incident": (
            H,
            "Writes the failed step and its error into the studio incident book.",
        ),
        "scrape_batts": (N, "Scrapes and kiln-washes the kiln shelves (batts)."),
        "schedule_wheel_lesson": (N, "Books the member a lesson on the pottery wheel."),
        "empty_reclaim_bucket": (N, "Empties the clay reclaim bucket into the pug mill."),
    },
    "locksmith": {
        "renew_van_insurance": (N, "Renews the insurance on the company vans."),
        "capture_caller_details": (
            N,
            "Saves the caller's name, phone number and address on the job.",
        ),
        "halt_beyond_service_zone": (
            N,
            "Checks the address against the coverage map; returns True when it is outside the area and the run should end.",
        ),
        "assign_closest_technician": (N, "Sends the nearest free technician's van to the job."),
        "estimate_labour_and_parts": (N, "Prices the job from the lock make and the door type."),
        "restricted_keyway": (
            C,
            "True when the lock is a high-security cylinder (Abloy, Mul-T-Lock and similar).",
        ),
        "assign_master_locksmith": (N, "Books a senior (master) locksmith for the job."),
        "assign_apprentice": (N, "Books any available junior technician for the job."),
        "cut_replacement_blanks": (N, "Cuts a new set of keys for the rekeyed lock."),
        "amend_custody_ledger": (N, "Records who holds each key for the property."),
        "bill_property_manager": (N, "Invoices the letting agency that manages the property."),
        "forward_completion_report": (N, "Emails the finished job sheet to the office."),
        "is_commercial_premises": (C, "True when the job is at a business rather than a home."),
        "order_hardware_parts": (
            N,
            "Orders the replacement lock hardware from the wholesaler.",
        ),
        "schedule_warranty_check": (
            N,
            "Books a follow-up visit to check the new lock after a month.",
        ),
        "alert_operations_desk": (
            H,
            "Texts the person running dispatch about the failed step and its error.",
        ),
        "append_fault_note": (H, "Adds the failed step and its error to the job's notes."),
    },
    "foodbank": {
        "renew_hygiene_certificate": (
            N,
            "Renews the food-hygiene certificate for the warehouse.",
        ),
        "record_intake_mass": (N, "Weighs the donation on arrival and records its weight."),
        "needs_refrigeration": (C, "True when the donation contains chilled or frozen items."),
        "move_to_cold_room": (N, "Carries the donation into the walk-in cold room."),
        "update_inventory": (N, "Adds the donation's items to the stock spreadsheet."),
        "prepare_giftaid_declaration": (
            N,
            "Prints a Gift Aid tax declaration for the donor to sign.",
        ),
        "crate_triage": (
            K,
            "Sub-cadence: volunteers sort a school collection into crates by category and count them, on its own score.",
        ),
        "merge_crate_tallies": (
            M,
            "Copies the per-category counts from the sorting onto the donation.",
        ),
        "pallet_audit": (
            K,
            "Sub-cadence: audits a pallet from the regional warehouse, on its own score.",
        ),
        "merge_audit_findings": (M, "Copies the pallet audit findings onto the donation."),
        "post_appreciation_card": (N, "Posts a thank-you card to the donor."),
        "phone_coordinator": (
            H,
            "Rings the drive coordinator about the failed step and its error.",
        ),
        "record_problem": (H, "Writes the failed step and its error on the problem sheet."),
        "verify_use_by": (
            N,
            "Checks every item's best-before or use-by date and removes expired ones.",
        ),
        "inspect_container_integrity": (N, "Pulls out dented, blown or leaking tins and jars."),
        "stock_distribution_racks": (N, "Puts the accepted items on the distribution racks."),
        "is_halal_certified": (C, "True when every item carries a halal certification mark."),
        "contains_allergens": (
            C,
            "True when the donation includes nuts, gluten or other labelled allergens.",
        ),
        "schedule_van_pickup": (N, "Books the van to collect a large donation from the donor."),
    },
    "tailor": {
        "order_thread_stock": (N, "Orders more thread from the haberdasher."),
        "is_bridal_gown": (C, "True when the garment is a wedding or bridal gown."),
        "assign_bridalwear_specialist": (N, "Gives the job to the bridal-wear seamstress."),
        "add_to_regular_backlog": (
            N,
            "Puts the job on the general alterations list everyone works from.",
        ),
        "book_try_on_appointment": (
            N,
            "Books the customer's next fitting and texts them the time.",
        ),
        "capture_body_dimensions": (
            N,
            "Measures the customer and saves the measurements on the job.",
        ),
        "halt_unalterable": (
            N,
            "Checks the seam allowance; returns True when the garment cannot be altered and the run should end.",
        ),
        "sew_new_hemline": (N, "Sews the hem at the marked length."),
        "iron_and_crease": (N, "Steam-presses the garment and sets the creases."),
        "quote_alteration": (N, "Prices the alteration and records the quote."),
        "needs_rush_service": (C, "True when the customer paid for a same-week turnaround."),
        "recolour_garment": (N, "Dyes the garment to the requested colour."),
        "replace_zipper": (N, "Fits a new zip to the garment."),
        "embroider_monogram": (N, "Stitches the customer's initials onto the garment."),
        "is_leather_item": (C, "True when the garment is leather or suede."),
        "log_workroom_issue": (H, "Writes the failed step and its error in the workroom log."),
        "alert_proprietor": (H, "Messages the owner about the failed step and its error."),
    },
    "festival": {
        "renew_venue_contract": (
            N,
            "Renews the contract with the cinema that hosts the screenings.",
        ),
        "transcode_preview_copy": (
            N,
            "Re-encodes the uploaded screener for the festival's streaming server.",
        ),
        "verify_caption_track": (
            N,
            "Checks the subtitle file is complete and lines up with the dialogue.",
        ),
        "panel_evaluation": (
            K,
            "Sub-cadence: the three jurors watch the film and each give a mark, on its own score.",
        ),
        "merge_panel_verdict": (M, "Copies the jurors' marks and comments onto the film."),
        "creator_chat_recording": (
            K,
            "Sub-cadence: records a Q&A with the filmmaker for the website, on its own score.",
        ),
        "merge_chat_transcript": (M, "Copies the Q&A transcript onto the film."),
        "confirm_entry_fee": (N, "Checks the submission fee has been paid."),
        "within_duration_cap": (C, "True when the film's runtime is 40 minutes or less."),
        "queue_for_viewing": (
            N,
            "Passes the film on to the programming team to watch.",
        ),
        "decline_overlength": (
            N,
            "Emails the director the standard rejection for films that run too long.",
        ),
        "alert_submissions_desk": (
            H,
            "Messages the intake coordinator about the failed step and its error.",
        ),
        "append_to_error_sheet": (
            H,
            "Adds the failed step and its error to the error spreadsheet.",
        ),
        "announce_selection": (N, "Emails the filmmaker that their film has been selected."),
        "enrolled_learner": (
            C,
            "True when the filmmaker is currently enrolled as a student at a university or film school.",
        ),
        "reimburse_application_cost": (N, "Refunds the submission fee."),
        "is_premiere": (C, "True when the film has never been shown in public."),
        "print_laminated_pass": (N, "Prints a festival pass for the filmmaker."),
        "book_hotel_room": (N, "Books the filmmaker a hotel room for the festival week."),
    },
}

F = [
    # ------------------------------------------------------------ kiln (pottery studio firings)
    (
        "kiln-01",
        "kiln",
        ["sequence", "on_error_stop"],
        "Hi, Marguerite here from the Tuesday evening class at Northgate Clayworks. When a "
        "student leaves work on the drying rack, I'd like it weighed so we can bill by the kilo, "
        "then booked into the next biscuit load, and after that the student should get a text "
        "saying roughly when they can come and get it. If any of that breaks, message me and "
        "leave it there; I'd rather sort it by hand than end up with half a booking.",
        "greenware_intake",
        [
            '.then("weigh", log_piece_mass)',
            '.then("book", reserve_bisque_slot)',
            '.then("text", sms_pickup_estimate)',
            ".on_error(alert_studio_lead)",
        ],
        ["record_incident", "schedule_wheel_lesson"],
        13,
        ["charge_firing_fee"],
    ),
    (
        "kiln-02",
        "kiln",
        ["sync", "split_no_else"],
        "Thursday is glaze night and Priya wants the prep automated. For every member's shelf "
        "going into the glaze load, two things can happen side by side: someone looks over the "
        "undersides to make sure no glaze has dripped onto them (it welds to the kiln shelf "
        "otherwise), and the member is billed. Once both are done, if any of the work is meant "
        "for food (mugs, bowls, that sort of thing), post one of them off to the lab for "
        "testing. Purely decorative items need nothing further.",
        "glaze_night",
        [
            '.sync("prep", [inspect_foot_rings, charge_firing_fee])',
            '.split("food_safe", intended_for_tableware, [dispatch_leach_sample])',
        ],
        ["contains_metallic_oxides", "scrape_batts"],
        13,
        [],
    ),
    (
        "kiln-03",
        "kiln",
        ["child", "on_error_continue", "three_steps"],
        "Raku weekends are run by Tomás and they can get chaotic. When someone books one, take "
        "their deposit first, then run the raku day process we already have (it's a separate "
        "flow of its own, with the steel bins and the sawdust) and copy what comes out of it, "
        "how many made it through and how many cracked, onto the booking. Finally text them a "
        "rough date for when they can come and get their work. If some step errors out, just "
        "note it down and keep going; Tomás would rather deal with it on the day.",
        "raku_weekend",
        [
            '.then("deposit", collect_advance_payment)',
            '.child("raku_day", smoke_firing_session, merge_session_outcome)',
            '.then("text", sms_pickup_estimate)',
            ".on_error(record_incident, stop=False)",
        ],
        ["colour_trial_series", "merge_trial_results", "alert_studio_lead"],
        14,
        [],
    ),
    # ------------------------------------------------------------ locksmith (callouts)
    (
        "lock-01",
        "locksmith",
        ["early_stop", "sequence", "no_handler"],
        "We run a 24-hour lockout line out of Leeds and most calls come in after midnight. When "
        "one comes in, take down who's calling and where they are. Then look at whether that "
        "address is somewhere we actually cover; if it isn't, the job ends there and nothing "
        "else happens. If it is, send out whoever is nearest.",
        "lockout_line",
        [
            '.then("caller", capture_caller_details)',
            '.then("coverage", halt_beyond_service_zone, can_interrupt=True)',
            '.then("send", assign_closest_technician)',
        ],
        ["is_commercial_premises", "append_fault_note"],
        12,
        [],
    ),
    (
        "lock-02",
        "locksmith",
        ["split_else", "on_error_stop"],
        "Dev wants callouts to businesses handled a bit more carefully. First price the job from "
        "the make of the lock and the type of door. Then, if it's one of the high-security "
        "cylinders (the Abloy and Mul-T-Lock ones), it has to go to one of our senior people; "
        "any other lock can go to a junior. If pricing or booking falls over, text Dev (he runs "
        "dispatch) and stop.",
        "business_callout",
        [
            '.then("price", estimate_labour_and_parts)',
            '.split("security", restricted_keyway, [assign_master_locksmith], [assign_apprentice])',
            ".on_error(alert_operations_desk)",
        ],
        ["append_fault_note", "is_commercial_premises", "order_hardware_parts"],
        13,
        [],
    ),
    (
        "lock-03",
        "locksmith",
        ["sync_fail_on_conflict", "three_way"],
        "When we rekey a flat for one of the letting agencies (Haworth & Sons are the big one), "
        "three things can go at the same time: cutting the fresh copies, keeping our list of "
        "who holds which one current, and invoicing the agency. All three touch the same file, "
        "so if two of them disagree about a value I'd rather the run refused than quietly picked "
        "one. After that, email the paperwork to the office.",
        "rekey_flat",
        [
            '.sync("rekey", [cut_replacement_blanks, amend_custody_ledger, '
            'bill_property_manager], merge_strategy="fail_on_conflict")',
            '.then("paperwork", forward_completion_report)',
        ],
        ["order_hardware_parts", "schedule_warranty_check"],
        14,
        [],
    ),
    # ------------------------------------------------------------ foodbank (donations)
    (
        "food-01",
        "foodbank",
        ["split_no_else", "four_steps"],
        "Saturday mornings at St Aidan's are drop-off time, and it gets busy. Whatever comes in "
        "goes on the scale first. If there's anything chilled or frozen in it (people bring "
        "yoghurts, and the odd turkey at Christmas), it goes straight into the walk-in; dry goods "
        "skip that. Either way it's then added to the spreadsheet Colin keeps, and finally the "
        "donor gets the tax-relief paperwork to sign.",
        "saturday_dropoff",
        [
            '.then("scale", record_intake_mass)',
            '.split("chilled", needs_refrigeration, [move_to_cold_room])',
            '.then("spreadsheet", update_inventory)',
            '.then("tax", prepare_giftaid_declaration)',
        ],
        ["contains_allergens", "schedule_van_pickup"],
        13,
        [],
    ),
    (
        "food-02",
        "foodbank",
        ["child", "on_error_stop"],
        "Hannah runs our school food drives, two a month through the winter. When a school's "
        "haul arrives, it should go through the volunteer sorting process we built last year; "
        "that's a separate flow of its own, and whatever it counts should be folded back into "
        "the donation. After that, send the school a note of thanks. If anything fails, stop "
        "and ring Hannah.",
        "school_drive",
        [
            '.child("sorting", crate_triage, merge_crate_tallies)',
            '.then("thanks", post_appreciation_card)',
            ".on_error(phone_coordinator)",
        ],
        ["pallet_audit", "merge_audit_findings", "record_problem"],
        14,
        [],
    ),
    (
        "food-03",
        "foodbank",
        ["sync", "on_error_continue"],
        "We had a box of tins last week where half were dented and a couple were months out of "
        "date, so Ibrahim wants every tinned donation looked over properly. Two checks can "
        "happen at once: one person goes through the dates, another pulls out anything dented, "
        "blown or leaking. Whatever's left after that goes out onto the shelves for Thursday's "
        "handout. If some check throws an error, jot it down and carry on with the rest.",
        "tin_check",
        [
            '.sync("checks", [verify_use_by, inspect_container_integrity])',
            '.then("shelve", stock_distribution_racks)',
            ".on_error(record_problem, stop=False)",
        ],
        ["phone_coordinator", "is_halal_certified"],
        12,
        [],
    ),
    # ------------------------------------------------------------ tailor (alterations)
    (
        "tailor-01",
        "tailor",
        ["split_else"],
        "Kovač Tailoring gets a lot of wedding work in spring. When a job comes in and it's a "
        "wedding dress, Ana takes it; she's the only one who does those. Anything else joins the "
        "general list everyone works from. Then, whichever it was, text the customer a time to "
        "come in for a first fitting.",
        "intake",
        [
            '.split("bridal", is_bridal_gown, [assign_bridalwear_specialist], '
            "[add_to_regular_backlog])",
            '.then("fitting", book_try_on_appointment)',
        ],
        ["is_leather_item", "needs_rush_service"],
        13,
        [],
    ),
    (
        "tailor-02",
        "tailor",
        ["early_stop", "on_error_continue"],
        "Marco handles our suits. When someone brings one in, the first thing is to measure "
        "them. Next he checks how much spare fabric is left in the seams: if there isn't enough "
        "to take it in or let it out, there's no point carrying on, so the run should finish "
        "right there. If a step throws an error, write it down and keep going.",
        "suit_check",
        [
            '.then("measure", capture_body_dimensions)',
            '.then("allowance", halt_unalterable, can_interrupt=True)',
            ".on_error(log_workroom_issue, stop=False)",
        ],
        ["alert_proprietor", "quote_alteration"],
        14,
        [],
    ),
    (
        "tailor-03",
        "tailor",
        ["sequence", "two_steps", "on_error_stop"],
        "Trouser hems are most of what Mrs Okafor brings us on Fridays, so let's make that one "
        "simple: shorten them to the chalk mark, then give them a steam press. If either part "
        "goes wrong, stop and let me know.",
        "hems",
        [
            '.then("shorten", sew_new_hemline)',
            '.then("press", iron_and_crease)',
            ".on_error(alert_proprietor)",
        ],
        ["log_workroom_issue", "replace_zipper"],
        12,
        [],
    ),
    # ------------------------------------------------------------ festival (short-film submissions)
    (
        "fest-01",
        "festival",
        ["sync", "child"],
        "The Harbourlight short film weekend (Galway this year, 14 to 18 October) opens next "
        "week. For each new film, two things can run side by side: the screener gets re-encoded "
        "for our streaming server, and someone checks that the subtitles line up. After both, "
        "hand the film to the jurors, which is its own process where the three of them each "
        "give a mark, and note their marks against the film.",
        "new_film",
        [
            '.sync("prepare", [transcode_preview_copy, verify_caption_track])',
            '.child("jury", panel_evaluation, merge_panel_verdict)',
        ],
        ["creator_chat_recording", "merge_chat_transcript"],
        13,
        [],
    ),
    (
        "fest-02",
        "festival",
        ["split_else", "unless", "on_error_stop"],
        "Siobhán handles the intake side. Check first that the person has actually paid. Then, "
        "unless the film runs 40 minutes or under, email the director our standard too-long "
        "rejection; if it's short enough, hand it on to the programming team to watch. If the "
        "payment check or anything after it falls over, stop and message Siobhán.",
        "intake_check",
        [
            '.then("paid", confirm_entry_fee)',
            '.split("length", within_duration_cap, [queue_for_viewing], [decline_overlength])',
            ".on_error(alert_submissions_desk)",
        ],
        ["append_to_error_sheet", "is_premiere"],
        14,
        [],
    ),
    (
        "fest-03",
        "festival",
        ["split_no_else"],
        "When a film gets in, the filmmaker gets the good-news email straight away. After that, "
        "if they're a student (we ask for a uni card at upload), they get their money back; "
        "that's the Aoife Kelly bursary. Nobody else needs anything further.",
        "accepted",
        [
            '.then("news", announce_selection)',
            '.split("bursary", enrolled_learner, [reimburse_application_cost])',
        ],
        ["is_premiere", "book_hotel_room"],
        12,
        [],
    ),
]
