"""Source data for the second held-out set: registry pools, wording tasks, freeform tasks.

Written independently (see README.md). Each task row names its reference steps and its
distractors explicitly; make_heldout2.py tops the registry up to its size with other entries of
the same domain pool (in pool order), skipping any listed in the row's ``avoid``.
"""

# --------------------------------------------------------------------------------------------
# Wording set: three domains
# --------------------------------------------------------------------------------------------

SCORES = {
    "grants": "GrantScore(application_id: str, applicant: str, requested_amount: float, review_marks: list, decision: str)",
    "returns": "ReturnScore(rma_id: str, sku: str, quantity: int, condition_grade: str, refund_amount: float)",
    "solar": "SolarScore(site_id: str, roof_area_m2: float, system_kw: float, permit_status: str, quote_total: float)",
}

N, C, M, H, K = "note", "condition", "merge", "handler", "cadence"

POOLS = {
    "grants": {
        "load_application": (
            N,
            "Fetch the submitted application form and its attachments by application_id.",
        ),
        "check_eligibility_rules": (
            N,
            "Check the applicant's institution and career stage against the call's eligibility rules.",
        ),
        "screen_budget_lines": (
            N,
            "Check each budget line against the funder's cost caps and flag ineligible costs.",
        ),
        "run_plagiarism_scan": (
            N,
            "Compare the proposal text with published work and earlier submissions; store a similarity score.",
        ),
        "collect_panel_marks": (
            N,
            "Gather the marks each panel reviewer gave and store them in review_marks.",
        ),
        "compute_weighted_rank": (
            N,
            "Combine the reviewers' marks into one weighted score and a rank within the call.",
        ),
        "fetch_reviewer_conflicts": (
            N,
            "Look up which reviewers declared a conflict of interest with the applicant.",
        ),
        "assign_external_reviewers": (
            N,
            "Pick external reviewers with matching expertise and send them invitations.",
        ),
        "draft_award_letter": (
            N,
            "Write the award letter with the approved amount and its conditions.",
        ),
        "draft_decline_letter": (
            N,
            "Write the letter telling the applicant the proposal was not funded, with reviewer feedback.",
        ),
        "notify_applicant": (N, "Email the applicant the outcome letter."),
        "archive_application": (
            N,
            "Move the application and its reviews to the closed-calls archive.",
        ),
        "request_missing_documents": (N, "Email the applicant a list of the missing attachments."),
        "schedule_panel_meeting": (
            N,
            "Book a slot for the review panel to discuss the application.",
        ),
        "record_decision": (N, "Write the final decision to the grants ledger."),
        "query_prior_awards": (
            N,
            "Look up grants the applicant has held before and their final reports.",
        ),
        "add_early_career_bonus": (
            N,
            "Add the early-career bonus points to the application's weighted score.",
        ),
        "publish_award_notice": (
            N,
            "Post the award on the funder's public list of funded projects.",
        ),
        "is_within_budget_cap": (
            C,
            "True when the requested amount is at or below the call's maximum.",
        ),
        "scored_above_cutoff": (
            C,
            "True when the weighted score reaches the call's funding cut-off.",
        ),
        "has_all_attachments": (C, "True when every required attachment is present."),
        "is_early_career": (C, "True when the lead applicant is within 7 years of their PhD."),
        "merge_due_diligence": (
            M,
            "Copy the due-diligence findings from the sub-check into the application.",
        ),
        "merge_review_round": (
            M,
            "Copy the reviews and marks collected by the review round into the application.",
        ),
        "flag_for_grants_officer": (
            H,
            "Put the application on a grants officer's manual-review queue, with the error.",
        ),
        "log_grant_error": (H, "Record the error against the application in the audit log."),
        "due_diligence_check": (
            K,
            "Sub-workflow: sanctions screening, institution verification and bank details check.",
        ),
        "external_review_round": (
            K,
            "Sub-workflow: invite reviewers, wait for their reviews, collect the marks.",
        ),
    },
    "returns": {
        "open_rma": (
            N,
            "Look up the return authorisation (RMA) and the original shipment it refers to.",
        ),
        "scan_inbound_parcel": (
            N,
            "Scan the parcel's label at the receiving dock and match it to the RMA.",
        ),
        "inspect_item_condition": (
            N,
            "Have the item inspected and set condition_grade (A, B, C or scrap).",
        ),
        "photograph_item": (N, "Take photos of the returned item for the record."),
        "verify_serial_number": (
            N,
            "Check that the serial number matches the unit that was shipped.",
        ),
        "check_fraud_signals": (
            N,
            "Score the return for fraud signals (serial mismatch, frequent returner, empty box).",
        ),
        "compute_refund_amount": (
            N,
            "Work out refund_amount from the price paid, minus restocking fee and damage.",
        ),
        "issue_refund": (N, "Refund refund_amount to the customer's original payment method."),
        "issue_store_credit": (N, "Give the customer store credit instead of a refund."),
        "restock_item": (N, "Put the item back into sellable stock at its bin location."),
        "send_to_refurbishment": (N, "Move the item to the refurbishment bench's intake shelf."),
        "route_to_liquidation": (N, "Put the item on the liquidation pallet."),
        "update_inventory_count": (N, "Adjust the warehouse's on-hand count for the SKU."),
        "email_return_receipt": (
            N,
            "Email the customer that the return arrived and what happens next.",
        ),
        "notify_vendor_defect": (N, "Report a defective unit to the vendor for a chargeback."),
        "print_bin_label": (N, "Print a new bin label for the item."),
        "close_rma": (N, "Mark the RMA closed."),
        "is_resellable": (C, "True when condition_grade is A or B."),
        "within_return_window": (C, "True when the parcel arrived within 30 days of delivery."),
        "is_high_value": (C, "True when the item's price is over 500."),
        "is_vendor_defect": (
            C,
            "True when the inspector marked the fault as a manufacturing defect.",
        ),
        "merge_refurb_result": (
            M,
            "Copy the refurbishment outcome and the new grade into the return.",
        ),
        "merge_carrier_claim": (
            M,
            "Copy the carrier claim's outcome and reimbursement into the return.",
        ),
        "park_in_exceptions_bay": (
            H,
            "Put the return in the exceptions bay and alert the shift supervisor, with the error.",
        ),
        "log_return_failure": (H, "Record the error against the RMA in the warehouse log."),
        "refurbishment_job": (K, "Sub-workflow: diagnose, repair, retest and regrade the unit."),
        "carrier_damage_claim": (
            K,
            "Sub-workflow: file a damage claim with the carrier and follow it to payout.",
        ),
    },
    "solar": {
        "fetch_site_survey": (
            N,
            "Load the site survey: roof photos, orientation and measurements.",
        ),
        "estimate_roof_shading": (N, "Estimate shading losses from nearby trees and buildings."),
        "size_panel_array": (N, "Choose the number of panels and the system_kw that fit the roof."),
        "pull_utility_usage": (
            N,
            "Fetch the household's last 12 months of electricity usage from the utility.",
        ),
        "check_hoa_rules": (
            N,
            "Check the homeowners' association rules on visible rooftop panels.",
        ),
        "price_battery_option": (N, "Add a home battery to the quote and price it."),
        "build_quote": (N, "Put together quote_total from panels, inverter, labour and options."),
        "send_quote_to_homeowner": (N, "Email the quote to the homeowner for signature."),
        "submit_permit_application": (
            N,
            "Submit the building permit application to the municipality.",
        ),
        "request_structural_review": (
            N,
            "Ask a structural engineer whether the roof can carry the array.",
        ),
        "book_install_crew": (N, "Schedule an installation crew for the job."),
        "order_panels": (N, "Place the order for panels and inverter with the distributor."),
        "apply_for_rebate": (N, "File the state rebate application for the system."),
        "register_grid_connection": (
            N,
            "Apply to the grid operator for connection and net metering.",
        ),
        "run_final_inspection": (N, "Book and record the final electrical inspection."),
        "activate_monitoring": (N, "Switch on the production-monitoring app for the homeowner."),
        "mark_site_unsuitable": (
            N,
            "Record that the site cannot host an array and tell the sales rep why.",
        ),
        "update_crm_record": (N, "Write the site's current status to the sales CRM."),
        "roof_needs_reinforcement": (
            C,
            "True when the survey says the roof cannot bear the array's weight unaided.",
        ),
        "qualifies_for_rebate": (
            C,
            "True when the system and the household meet the state rebate criteria.",
        ),
        "is_battery_requested": (C, "True when the homeowner asked for a battery."),
        "shading_is_acceptable": (C, "True when estimated shading losses are under 15%."),
        "merge_permit_outcome": (
            M,
            "Copy the permit number and status from the permitting sub-workflow into the site.",
        ),
        "merge_interconnection": (
            M,
            "Copy the grid operator's approval and meter details into the site.",
        ),
        "alert_project_manager": (
            H,
            "Message the project manager with the failing step and the error.",
        ),
        "log_install_issue": (H, "Write the error to the installation job's log."),
        "permit_workflow": (
            K,
            "Sub-workflow: prepare drawings, file with the city, answer its questions, obtain the permit.",
        ),
        "interconnection_workflow": (
            K,
            "Sub-workflow: apply to the utility, schedule the meter swap, get permission to operate.",
        ),
    },
}

# (pattern, domain, tags, task, cadence name, steps, distractors, registry size, avoid)
W = [
    # ---------------- grants ----------------
    (
        "sequence",
        "grants",
        ["imperative", "comma-list"],
        "Pull up the application, check it against the eligibility rules, and then write the outcome to the grants ledger.",
        "grant_intake",
        [
            '.then("load", load_application)',
            '.then("eligibility", check_eligibility_rules)',
            '.then("record", record_decision)',
        ],
        ["archive_application", "screen_budget_lines", "notify_applicant"],
        13,
        [],
    ),
    (
        "sync",
        "grants",
        ["descriptive", "meanwhile"],
        "Once the application has been loaded, its budget lines get screened against the cost caps; meanwhile the "
        "proposal text goes through the plagiarism scan. When both are done, a panel meeting is booked.",
        "grant_screening",
        [
            '.then("load", load_application)',
            '.sync("checks", [screen_budget_lines, run_plagiarism_scan])',
            '.then("panel", schedule_panel_meeting)',
        ],
        ["check_eligibility_rules", "fetch_reviewer_conflicts", "assign_external_reviewers"],
        14,
        [],
    ),
    (
        "split",
        "grants",
        ["either-or-depending", "finally"],
        "After the weighted rank is computed, draft either an award letter or a decline letter depending on whether "
        "the score made the funding cut-off, and finally email the applicant.",
        "grant_outcome",
        [
            '.then("rank", compute_weighted_rank)',
            '.split("letter", scored_above_cutoff, [draft_award_letter], [draft_decline_letter])',
            '.then("notify", notify_applicant)',
        ],
        ["is_within_budget_cap", "publish_award_notice", "record_decision"],
        15,
        [],
    ),
    (
        "split_only_true",
        "grants",
        ["question", "in-all-cases"],
        "Could the workflow add the early-career bonus when the lead applicant qualifies as early-career, and then "
        "compute the rank in all cases?",
        "grant_bonus",
        [
            '.split("bonus", is_early_career, [add_early_career_bonus])',
            '.then("rank", compute_weighted_rank)',
        ],
        ["collect_panel_marks", "query_prior_awards", "has_all_attachments"],
        12,
        [],
    ),
    (
        "child",
        "grants",
        ["lead-in", "dash", "parenthetical"],
        "Due-diligence stage — load the application, hand it to the due-diligence check (fold its findings back in "
        "afterwards), then record the decision.",
        "grant_due_diligence",
        [
            '.then("load", load_application)',
            '.child("diligence", due_diligence_check, merge_due_diligence)',
            '.then("record", record_decision)',
        ],
        ["external_review_round", "merge_review_round", "check_eligibility_rules"],
        14,
        [],
    ),
    (
        "on_error",
        "grants",
        ["should-x-fail", "two-sentences"],
        "Collect the panel marks, compute the weighted rank, and record the decision. Should any of that fail, put "
        "the application in front of a grants officer.",
        "grant_scoring",
        [
            '.then("marks", collect_panel_marks)',
            '.then("rank", compute_weighted_rank)',
            '.then("record", record_decision)',
            ".on_error(flag_for_grants_officer)",
        ],
        ["log_grant_error", "external_review_round", "schedule_panel_meeting"],
        13,
        [],
    ),
    (
        "sync_strategy",
        "grants",
        ["bullets", "last-one-wins"],
        "- at the same time: look up reviewer conflicts, look up the applicant's prior awards, and check the "
        "eligibility rules\n- they may write over each other's fields; the last one to finish wins\n- after that, "
        "assign external reviewers",
        "grant_background",
        [
            '.sync("background", [fetch_reviewer_conflicts, query_prior_awards, check_eligibility_rules], "last_write_wins")',
            '.then("reviewers", assign_external_reviewers)',
        ],
        ["external_review_round", "collect_panel_marks", "load_application"],
        15,
        [],
    ),
    (
        "interrupt",
        "grants",
        ["trailing-remark", "carry-on"],
        "Check eligibility first, then screen the budget lines — the budget screen is allowed to end the run early "
        "if it finds the budget hopeless. If something errors, just log it against the application and carry on.",
        "grant_precheck",
        [
            '.then("eligibility", check_eligibility_rules)',
            '.then("budget", screen_budget_lines, can_interrupt=True)',
            ".on_error(log_grant_error, stop=False)",
        ],
        ["flag_for_grants_officer", "is_within_budget_cap", "load_application"],
        14,
        [],
    ),
    (
        "complex",
        "grants",
        ["unless", "side-by-side", "any-failure"],
        "Load the application, then run the plagiarism scan and the reviewer-conflict lookup side by side. Unless "
        "every required attachment is there, email the applicant what's missing; if it's complete, book a panel "
        "meeting. Any failure along the way goes to a grants officer's queue.",
        "grant_triage",
        [
            '.then("load", load_application)',
            '.sync("checks", [run_plagiarism_scan, fetch_reviewer_conflicts])',
            '.split("complete", has_all_attachments, [schedule_panel_meeting], [request_missing_documents])',
            ".on_error(flag_for_grants_officer)",
        ],
        ["log_grant_error", "screen_budget_lines", "notify_applicant"],
        16,
        [],
    ),
    # ---------------- returns ----------------
    (
        "sequence",
        "returns",
        ["arrows"],
        "scan the inbound parcel → inspect the item's condition → update the inventory count",
        "return_receiving",
        [
            '.then("scan", scan_inbound_parcel)',
            '.then("inspect", inspect_item_condition)',
            '.then("count", update_inventory_count)',
        ],
        ["open_rma", "restock_item", "print_bin_label"],
        12,
        [],
    ),
    (
        "sync",
        "returns",
        ["passive", "alongside"],
        "The RMA is opened first. Photos of the item are taken alongside the serial-number check, and the customer "
        "is emailed a return receipt once both are finished.",
        "return_evidence",
        [
            '.then("open", open_rma)',
            '.sync("evidence", [photograph_item, verify_serial_number])',
            '.then("receipt", email_return_receipt)',
        ],
        ["check_fraud_signals", "scan_inbound_parcel", "inspect_item_condition"],
        15,
        [],
    ),
    (
        "split",
        "returns",
        ["if-not", "short-sentences"],
        "Inspect the item. If it's resellable, restock it; if not, send it to liquidation. Close the RMA at the end.",
        "return_disposition",
        [
            '.then("inspect", inspect_item_condition)',
            '.split("resell", is_resellable, [restock_item], [route_to_liquidation])',
            '.then("close", close_rma)',
        ],
        ["send_to_refurbishment", "is_high_value", "update_inventory_count"],
        13,
        [],
    ),
    (
        "split_only_true",
        "returns",
        ["when", "no-need-otherwise", "regardless"],
        "When the fault turns out to be a manufacturing defect, report it to the vendor for a chargeback — no need "
        "otherwise. Close the RMA afterwards regardless.",
        "return_vendor",
        ['.split("defect", is_vendor_defect, [notify_vendor_defect])', '.then("close", close_rma)'],
        ["is_resellable", "carrier_damage_claim", "merge_carrier_claim", "inspect_item_condition"],
        14,
        [],
    ),
    (
        "child",
        "returns",
        ["descriptive", "this-flow"],
        "This flow inspects the returned unit, passes it through the refurbishment job as a sub-workflow and copies "
        "the refurb outcome back onto the return, then puts the item back into sellable stock.",
        "return_refurb",
        [
            '.then("inspect", inspect_item_condition)',
            '.child("refurb", refurbishment_job, merge_refurb_result)',
            '.then("restock", restock_item)',
        ],
        ["send_to_refurbishment", "carrier_damage_claim", "merge_carrier_claim"],
        15,
        [],
    ),
    (
        "on_error",
        "returns",
        ["imperative", "blows-up", "stop-there"],
        "Work out the refund amount, issue the refund, and close the RMA. If a step blows up, stop there and park "
        "the return in the exceptions bay.",
        "return_refund",
        [
            '.then("amount", compute_refund_amount)',
            '.then("refund", issue_refund)',
            '.then("close", close_rma)',
            ".on_error(park_in_exceptions_bay)",
        ],
        ["log_return_failure", "issue_store_credit", "within_return_window"],
        13,
        [],
    ),
    (
        "sync_strategy",
        "returns",
        ["question", "whichever-last"],
        "Could we run the serial-number verification, the fraud scoring and the photos all at once, letting "
        "whichever finishes last overwrite the others on any clash, and then work out the refund amount?",
        "return_checks",
        [
            '.sync("checks", [verify_serial_number, check_fraud_signals, photograph_item], "last_write_wins")',
            '.then("amount", compute_refund_amount)',
        ],
        ["inspect_item_condition", "issue_refund", "scan_inbound_parcel"],
        14,
        [],
    ),
    (
        "interrupt",
        "returns",
        ["lead-in", "may-stop", "shouldnt-halt"],
        "Intake: scan the parcel at the dock, then score it for fraud signals; the fraud check may stop the whole "
        "run on the spot. Errors shouldn't halt anything — note them in the warehouse log and move on.",
        "return_intake",
        [
            '.then("scan", scan_inbound_parcel)',
            '.then("fraud", check_fraud_signals, can_interrupt=True)',
            ".on_error(log_return_failure, stop=False)",
        ],
        ["park_in_exceptions_bay", "verify_serial_number", "open_rma"],
        12,
        [],
    ),
    (
        "complex",
        "returns",
        ["numbered", "in-parallel", "otherwise"],
        "1. open the RMA\n2. in parallel: inspect the condition and verify the serial number\n3. if the parcel came "
        "back within the return window, refund the customer; otherwise give store credit\n4. on any failure, log it "
        "against the RMA and stop",
        "return_full",
        [
            '.then("open", open_rma)',
            '.sync("checks", [inspect_item_condition, verify_serial_number])',
            '.split("window", within_return_window, [issue_refund], [issue_store_credit])',
            ".on_error(log_return_failure)",
        ],
        ["park_in_exceptions_bay", "is_resellable", "photograph_item"],
        16,
        ["compute_refund_amount"],
    ),
    # ---------------- solar ----------------
    (
        "sequence",
        "solar",
        ["casual", "lead-in"],
        "New site, nothing fancy: load the survey, size the array, build the quote.",
        "solar_basic",
        [
            '.then("survey", fetch_site_survey)',
            '.then("size", size_panel_array)',
            '.then("quote", build_quote)',
        ],
        ["send_quote_to_homeowner", "estimate_roof_shading", "price_battery_option"],
        12,
        [],
    ),
    (
        "sync",
        "solar",
        ["while", "at-the-same-time", "with-both-in-hand"],
        "Get the site survey in, then estimate the shading while the household's utility usage is pulled at the "
        "same time. With both in hand, size the panel array.",
        "solar_sizing",
        [
            '.then("survey", fetch_site_survey)',
            '.sync("inputs", [estimate_roof_shading, pull_utility_usage])',
            '.then("size", size_panel_array)',
        ],
        ["check_hoa_rules", "build_quote", "request_structural_review"],
        14,
        [],
    ),
    (
        "split",
        "solar",
        ["passive", "should", "failing-that"],
        "Shading is estimated first. Should the losses turn out acceptable, the panel array is sized; failing that, "
        "the site is marked unsuitable. The sales CRM record is updated afterwards either way.",
        "solar_shading",
        [
            '.then("shading", estimate_roof_shading)',
            '.split("viable", shading_is_acceptable, [size_panel_array], [mark_site_unsuitable])',
            '.then("crm", update_crm_record)',
        ],
        ["roof_needs_reinforcement", "request_structural_review", "build_quote"],
        13,
        [],
    ),
    (
        "split_only_true",
        "solar",
        ["bullets", "if"],
        "- if the homeowner wants a battery, price the battery option\n- then build the quote",
        "solar_battery",
        [
            '.split("battery", is_battery_requested, [price_battery_option])',
            '.then("quote", build_quote)',
        ],
        ["qualifies_for_rebate", "apply_for_rebate", "send_quote_to_homeowner"],
        15,
        [],
    ),
    (
        "child",
        "solar",
        ["question", "how-would-i", "via"],
        "How would I wire this up: size the array, run the permitting sub-workflow (bringing the permit number and "
        "status back via the permit merge), and finally book an install crew?",
        "solar_permit",
        [
            '.then("size", size_panel_array)',
            '.child("permit", permit_workflow, merge_permit_outcome)',
            '.then("crew", book_install_crew)',
        ],
        ["submit_permit_application", "interconnection_workflow", "merge_interconnection"],
        14,
        [],
    ),
    (
        "on_error",
        "solar",
        ["descriptive", "in-that-order", "parenthetical"],
        "Order the panels, book the crew and register the grid connection, in that order; the project manager gets "
        "a message if any step fails (and the run stops there).",
        "solar_install",
        [
            '.then("order", order_panels)',
            '.then("crew", book_install_crew)',
            '.then("grid", register_grid_connection)',
            ".on_error(alert_project_manager)",
        ],
        ["log_install_issue", "interconnection_workflow", "run_final_inspection"],
        15,
        [],
    ),
    (
        "sync_strategy",
        "solar",
        ["three-sentences", "collide", "let-later-writes"],
        "Three lookups can go out together: the HOA rules, the utility usage history and the shading estimate. Let "
        "later writes overwrite earlier ones when they collide. Once they're back, size the array.",
        "solar_lookups",
        [
            '.sync("lookups", [check_hoa_rules, pull_utility_usage, estimate_roof_shading], "last_write_wins")',
            '.then("size", size_panel_array)',
        ],
        ["fetch_site_survey", "shading_is_acceptable", "build_quote"],
        13,
        [],
    ),
    (
        "interrupt",
        "solar",
        ["passive", "e.g.", "without-stopping"],
        "The quote is built and then sent to the homeowner; sending it may end the run early (e.g. when the "
        "homeowner has already declined). Any error is written to the installation job's log without stopping the "
        "flow.",
        "solar_quote",
        [
            '.then("quote", build_quote)',
            '.then("send", send_quote_to_homeowner, can_interrupt=True)',
            ".on_error(log_install_issue, stop=False)",
        ],
        ["alert_project_manager", "price_battery_option", "update_crm_record"],
        12,
        [],
    ),
    (
        "complex",
        "solar",
        ["start-from", "concurrently", "else", "in-case-of"],
        "Start from the site survey. Next, pull the utility usage and check the HOA rules concurrently. Then, if the "
        "roof needs reinforcement, request a structural review, else size the panel array. In case of failure, "
        "message the project manager.",
        "solar_assessment",
        [
            '.then("survey", fetch_site_survey)',
            '.sync("lookups", [pull_utility_usage, check_hoa_rules])',
            '.split("roof", roof_needs_reinforcement, [request_structural_review], [size_panel_array])',
            ".on_error(alert_project_manager)",
        ],
        ["log_install_issue", "estimate_roof_shading", "shading_is_acceptable"],
        16,
        [],
    ),
]

# --------------------------------------------------------------------------------------------
# Freeform set: five further domains; registry names share no word with the task text
# --------------------------------------------------------------------------------------------

FF_SCORES = {
    "museum": "LoanScore(loan_id: str, object_ids: list, borrower: str, agreed_value: float, status: str)",
    "customs": "ShipmentScore(bill_of_lading: str, hs_codes: list, declared_value: float, duty_due: float, cleared: bool)",
    "trial": "EnrolmentScore(participant_id: str, site: str, eligible: bool, arm: str, consent_signed: bool)",
    "hive": "HiveScore(hive_id: str, colony_strength: int, varroa_per_100: float, honey_kg: float, queen_seen: bool)",
    "translation": "JobScore(job_id: str, source_lang: str, target_lang: str, word_count: int, fee: float)",
}

FF_POOLS = {
    "museum": {
        "load_inbound_enquiry": (
            N,
            "Fetch the incoming loan request: borrowing institution, requested object ids and dates.",
        ),
        "survey_object_condition": (
            N,
            "Conservator examines each requested object and records whether it can safely travel.",
        ),
        "appraise_collection_items": (
            N,
            "Registrar sets an agreed value for each object for the government indemnity application.",
        ),
        "compose_lending_contract": (
            N,
            "Write the loan agreement, ready for the director's signature.",
        ),
        "reserve_specialist_transport": (N, "Book a fine-art shipper for the outbound journey."),
        "email_escort_schedule": (N, "Send the borrower the courier's travel itinerary."),
        "reexamine_after_homecoming": (
            N,
            "Check an object that has come back, comparing it with its outgoing condition report.",
        ),
        "commission_restoration": (N, "Open a conservation treatment job for the object."),
        "reshelve_in_vault": (N, "Return the object to its location in the storerooms."),
        "photograph_for_catalogue": (
            N,
            "Commission new photography of the objects for the exhibition catalogue.",
        ),
        "verify_facility_report": (
            N,
            "Check the borrower's facility report: climate control, security, fire suppression.",
        ),
        "harm_detected": (
            C,
            "True when the incoming check found new damage not in the outgoing report.",
        ),
        "venue_meets_standards": (
            C,
            "True when the borrower's facility report meets our environmental and security standards.",
        ),
        "lender_wants_escort": (
            C,
            "True when a staff member must accompany the objects in transit.",
        ),
        "absorb_case_manifest": (
            M,
            "Copy case numbers and packing notes from the case-building sub-workflow into the loan record.",
        ),
        "absorb_escort_vetting": (
            M,
            "Copy the courier's accreditation result into the loan record.",
        ),
        "summon_collections_lead": (
            H,
            "Alert the registrar on duty with the failing step and its error.",
        ),
        "append_audit_trail": (H, "Record the error in the loan's audit trail."),
        "case_construction": (
            K,
            "Sub-workflow: build custom cases, pack the objects, seal and number the cases.",
        ),
        "escort_vetting": (
            K,
            "Sub-workflow: vet and accredit the staff member who travels with the objects.",
        ),
    },
    "customs": {
        "crosscheck_cargo_documents": (
            N,
            "Match the bill of lading, packing list and invoice against the ship's manifest.",
        ),
        "lodge_abridged_entry": (N, "File the short-form (low-value) customs declaration."),
        "authorise_pickup": (N, "Release the goods from the terminal so they can be collected."),
        "lodge_itemised_entry": (N, "File the full customs declaration with every line item."),
        "compute_import_charges": (N, "Calculate the duty and import VAT owed and set duty_due."),
        "assign_hs_codes": (
            N,
            "Classify each item under its tariff heading and store the codes in hs_codes.",
        ),
        "vet_embargo_watchlists": (
            N,
            "Screen consignor and consignee against the restricted-party lists; may end the run on a match.",
        ),
        "reserve_examination_window": (
            N,
            "Book a physical inspection slot at the container terminal.",
        ),
        "settle_levies": (N, "Pay duty_due from the broker's deferment account."),
        "alert_trucking_firm": (N, "Tell the haulier the container is free to collect."),
        "refresh_margin_workbook": (
            N,
            "Update the customer's landed-cost spreadsheet with freight and duty.",
        ),
        "finalize_consignment_folder": (N, "Mark the shipment's file complete and close it out."),
        "request_origin_certificate": (
            N,
            "Ask the exporter for a certificate of origin to claim preferential rates.",
        ),
        "below_de_minimis": (
            C,
            "True when declared_value is under the low-value threshold for simplified clearance.",
        ),
        "flagged_for_examination": (
            C,
            "True when customs selected the container for a physical check.",
        ),
        "merge_bonded_transfer": (
            M,
            "Copy the bonded-warehouse transfer reference into the shipment.",
        ),
        "bonded_transfer": (
            K,
            "Sub-workflow: move the container under bond to an inland warehouse.",
        ),
        "note_in_regulatory_journal": (H, "Record the error in the compliance log."),
        "phone_duty_broker": (H, "Call the customs broker on duty about the failure and stop."),
    },
    "trial": {
        "evaluate_entry_requirements": (
            N,
            "Check the participant against the protocol's inclusion and exclusion criteria.",
        ),
        "allocate_treatment_group": (N, "Randomise the participant into a study arm and set arm."),
        "mail_ineligibility_notice": (
            N,
            "Write to the participant explaining why they cannot take part.",
        ),
        "brief_originating_physician": (N, "Tell the referring doctor the outcome of enrolment."),
        "dispatch_investigational_product": (
            N,
            "Ship a kit of study medication to the site pharmacy.",
        ),
        "reserve_initial_phlebotomy": (N, "Book the participant's baseline blood draw."),
        "ask_symptom_survey": (
            N,
            "Nurse runs the adverse-event questionnaire; a serious reaction ends the run so the medical monitor can take over.",
        ),
        "enter_case_report": (N, "Record the visit in the electronic case report form (eCRF)."),
        "order_ecg_tracing": (N, "Book a 12-lead ECG before the first dose."),
        "reimburse_travel_costs": (N, "Pay back the participant's travel expenses for the visit."),
        "satisfies_protocol": (
            C,
            "True when the participant meets every inclusion criterion and no exclusion criterion.",
        ),
        "pregnancy_test_needed": (
            C,
            "True when the protocol requires a pregnancy test for this participant.",
        ),
        "agreement_signing_flow": (
            K,
            "Sub-workflow: explain the study, answer questions, collect the signed consent form.",
        ),
        "copy_signature_details": (
            M,
            "Copy the signed consent form and its date from the consent sub-workflow into the record.",
        ),
        "withdrawal_flow": (
            K,
            "Sub-workflow: withdraw a participant and arrange the end-of-study visit.",
        ),
        "copy_withdrawal_details": (M, "Copy the withdrawal date and reason into the record."),
        "escalate_to_protocol_lead": (H, "Flag the problem to the study coordinator and stop."),
        "file_protocol_exception": (H, "Note the problem in the protocol deviation log."),
    },
    "hive": {
        "estimate_varroa_load": (
            N,
            "Sugar-roll a sample of bees, count the mites and set varroa_per_100.",
        ),
        "heft_upper_boxes": (N, "Weigh the honey supers and set honey_kg."),
        "journal_colony_visit": (N, "Write the visit's observations into the apiary notebook."),
        "locate_monarch": (
            N,
            "Look through the frames for the queen or fresh eggs and set queen_seen.",
        ),
        "purchase_mated_female": (N, "Order a mated replacement queen from the breeder."),
        "assess_larval_pattern": (N, "Check the brood pattern on the frames for gaps and disease."),
        "calm_and_uncover_colony": (
            N,
            "Smoke the entrance and lift the crown board to open the hive.",
        ),
        "survey_sealed_comb": (N, "Check the frames for capped honey ready to take."),
        "administer_miticide": (N, "Apply an oxalic acid treatment against varroa."),
        "remove_ripe_combs": (N, "Take out the full, capped frames for extraction."),
        "feed_winter_syrup": (N, "Give the colony sugar syrup for the winter."),
        "add_super": (N, "Put an extra honey box on the hive."),
        "monarch_absent": (C, "True when neither the queen nor fresh eggs were found."),
        "infestation_exceeds_limit": (
            C,
            "True when varroa_per_100 is above the treatment threshold.",
        ),
        "sms_keeper": (H, "Send the beekeeper a text message with the error."),
        "diary_the_fault": (H, "Write the error into the hive's record and continue."),
        "capture_stray_cluster": (K, "Sub-workflow: collect a swarm, box it and rehome it."),
        "merge_stray_cluster": (M, "Copy the new colony's details from the swarm sub-workflow."),
    },
    "translation": {
        "lexicon_curation": (
            K,
            "Sub-workflow run by the glossary team: extract terms, agree their translations, approve the term base.",
        ),
        "fold_in_lexicon": (
            M,
            "Copy the approved term list from the lexicon sub-workflow into the job.",
        ),
        "customer_review_cycle": (
            K,
            "Sub-workflow: send the translation to the customer's reviewer and collect their edits.",
        ),
        "fold_in_customer_edits": (
            M,
            "Copy the reviewer's edits from the review sub-workflow into the job.",
        ),
        "allocate_accredited_specialist": (N, "Give the job to a sworn (certified) translator."),
        "tally_source_volume": (N, "Count the words in the source files and set word_count."),
        "estimate_fee": (
            N,
            "Price the job and set fee; ends the run if the fee exceeds the customer's purchase order.",
        ),
        "dispatch_cost_offer": (N, "Email the quote to the customer."),
        "machine_consistency_scan": (
            N,
            "Run the QA checker: numbers, tags, terminology consistency; writes findings to the notes.",
        ),
        "peer_revision": (
            N,
            "A second linguist proofreads the translation; writes findings to the notes.",
        ),
        "house_guide_conformance": (
            N,
            "Run the customer's style validator; writes findings to the notes.",
        ),
        "upload_to_portal": (N, "Deliver the finished files to the customer's portal."),
        "convert_pdf_to_editable": (
            N,
            "Turn scanned PDFs into editable documents before work starts.",
        ),
        "apply_rush_surcharge": (N, "Add the express surcharge to the fee."),
        "notarise_certificate": (N, "Have a notary certify the translation."),
        "escalate_to_coordinator": (
            H,
            "Send the failing step and its error to the project manager and stop.",
        ),
        "annotate_timeline": (H, "Write the error into the job history and continue."),
    },
}

# (key, domain, tags, task, cadence name, steps, distractors, registry size, avoid)
F = [
    (
        "museum-01",
        "museum",
        ["parallel", "context", "names-via-docstring"],
        "We've had a request from a gallery in Lyon to borrow three of our Dutch still lifes for their spring "
        "exhibition. Before anything else, pull up the request so we know exactly which pieces they want. Then our "
        "conservator needs to judge whether the paintings are fit to travel, and at the same time the registrar "
        "should work out what they're worth for the indemnity paperwork; these two don't depend on each other. Once "
        "both are done, draft the agreement for the director to sign.",
        "lyon_request",
        [
            '.then("enquiry", load_inbound_enquiry)',
            '.sync("assessments", [survey_object_condition, appraise_collection_items])',
            '.then("agreement", compose_lending_contract)',
        ],
        ["verify_facility_report", "photograph_for_catalogue", "venue_meets_standards"],
        13,
        [],
    ),
    (
        "museum-02",
        "museum",
        ["sub-workflow", "on-error-stop", "context"],
        "The Lyon agreement is signed, so it's time to get the still lifes on the road. First, book the fine-art "
        "shipper. Crating is handled by the workshop's own sub-process: run that and copy what it produces (crate "
        "numbers, packing notes) back into our record. Then send the courier's itinerary to the gallery. If any of "
        "this goes wrong, halt and alert whichever registrar is on duty.",
        "lyon_dispatch",
        [
            '.then("shipper", reserve_specialist_transport)',
            '.child("crates", case_construction, absorb_case_manifest)',
            '.then("itinerary", email_escort_schedule)',
            ".on_error(summon_collections_lead)",
        ],
        ["escort_vetting", "absorb_escort_vetting", "append_audit_trail"],
        14,
        [],
    ),
    (
        "museum-03",
        "museum",
        ["decision-without-otherwise", "irrelevant-detail"],
        "When a piece comes back from a loan, someone checks it on arrival against the report we made before it "
        "left. If that check finds fresh damage, we have to open a treatment with the conservators; if it's fine, "
        "nothing extra happens. Either way, it then goes back to its place in the stores. The stores team is "
        "short-staffed this month, so keep it lean.",
        "homecoming",
        [
            '.then("arrival_check", reexamine_after_homecoming)',
            '.split("damaged", harm_detected, [commission_restoration])',
            '.then("put_away", reshelve_in_vault)',
        ],
        ["venue_meets_standards", "lender_wants_escort", "append_audit_trail"],
        12,
        [],
    ),
    (
        "customs-01",
        "customs",
        ["decision-with-otherwise", "two-note-branches", "irrelevant-detail"],
        "A container of machine parts from Busan landed in Rotterdam this morning. Start by checking the paperwork "
        "against what the vessel says it carried. If the goods are worth less than the low-value threshold, they "
        "can take the quick route: file the short declaration and release them straight away. Otherwise file the "
        "full declaration and work out how much duty is owed. The broker we use for Korean shipments has been slow "
        "lately, so don't add anything else.",
        "busan_container",
        [
            '.then("papers", crosscheck_cargo_documents)',
            '.split("value", below_de_minimis, [lodge_abridged_entry, authorise_pickup], [lodge_itemised_entry, compute_import_charges])',
        ],
        ["flagged_for_examination", "request_origin_certificate", "assign_hs_codes"],
        15,
        [],
    ),
    (
        "customs-02",
        "customs",
        ["early-stop", "reasons"],
        "For every inbound shipment we first classify the goods under the right headings of the tariff. After that "
        "comes the sanctions screening of shipper and receiver; if it gets a hit, the whole thing must halt right "
        "there and nothing else may run, because our licence depends on it. Otherwise we finish by booking an "
        "inspection slot at the terminal.",
        "inbound_screening",
        [
            '.then("classify", assign_hs_codes)',
            '.then("sanctions", vet_embargo_watchlists, can_interrupt=True)',
            '.then("inspection", reserve_examination_window)',
        ],
        ["crosscheck_cargo_documents", "phone_duty_broker", "request_origin_certificate"],
        13,
        ["flagged_for_examination"],
    ),
    (
        "customs-03",
        "customs",
        ["parallel-fail-on-conflict", "on-error-continue"],
        "Once the declaration is accepted, three things can happen at the same time: pay what we owe from the "
        "deferment account, let the haulier know the container is free to collect, and update the landed-cost "
        "spreadsheet we keep for the client. These must never silently overwrite each other's results; if two of "
        "them change the same thing, that is an error. Problems should go into the compliance log, but the run "
        "shouldn't stop for them. Afterwards, close out the file.",
        "post_acceptance",
        [
            '.sync("release", [settle_levies, alert_trucking_firm, refresh_margin_workbook], "fail_on_conflict")',
            '.then("wrap_up", finalize_consignment_folder)',
            ".on_error(note_in_regulatory_journal, stop=False)",
        ],
        ["phone_duty_broker", "compute_import_charges", "authorise_pickup"],
        14,
        [],
    ),
    (
        "trial-01",
        "trial",
        ["decision-with-otherwise", "on-error-stop", "context"],
        "A patient referred by Dr. Osei wants to join the hypertension study at our Leeds centre. Start by going "
        "through the inclusion and exclusion criteria with them. If they meet them, randomise them into one of the "
        "arms; if they don't, send a polite letter explaining why they can't take part. Whatever the outcome, the "
        "doctor who referred them is told. Should anything fail, stop and flag it to the study coordinator.",
        "osei_referral",
        [
            '.then("screen", evaluate_entry_requirements)',
            '.split("eligible", satisfies_protocol, [allocate_treatment_group], [mail_ineligibility_notice])',
            '.then("inform", brief_originating_physician)',
            ".on_error(escalate_to_protocol_lead)",
        ],
        ["file_protocol_exception", "pregnancy_test_needed", "order_ecg_tracing"],
        14,
        [],
    ),
    (
        "trial-02",
        "trial",
        ["parallel", "sub-workflow", "reasons"],
        "Before someone's first dosing visit, two bits of prep can run side by side: ship the kit of study medication "
        "to the pharmacy, and book the baseline blood draw. After that, the consent process runs as its own "
        "sub-process; bring the signed form and its date back into the participant's file. The sponsor audits "
        "this part closely, so keep it tidy.",
        "pre_dosing",
        [
            '.sync("prep", [dispatch_investigational_product, reserve_initial_phlebotomy])',
            '.child("consent", agreement_signing_flow, copy_signature_details)',
        ],
        ["withdrawal_flow", "copy_withdrawal_details", "order_ecg_tracing"],
        13,
        [],
    ),
    (
        "trial-03",
        "trial",
        ["early-stop", "on-error-continue"],
        "Every week we check in with enrolled people by phone. The nurse first runs the adverse-event "
        "questionnaire; if the answers show a serious reaction, that step has to be able to end the weekly routine "
        "immediately so the medical monitor can take over. Otherwise, the visit gets logged in the eCRF. Hiccups "
        "like a dropped line shouldn't stop anything; just note them in the deviation log.",
        "weekly_check_in",
        [
            '.then("questionnaire", ask_symptom_survey, can_interrupt=True)',
            '.then("ecrf", enter_case_report)',
            ".on_error(file_protocol_exception, stop=False)",
        ],
        ["escalate_to_protocol_lead", "reimburse_travel_costs", "satisfies_protocol"],
        12,
        [],
    ),
    (
        "hive-01",
        "hive",
        ["plain-sequence", "irrelevant-detail"],
        "Spring check on the hives at the orchard: first count the mites with a sugar roll, then weigh the supers to "
        "see how much they've put up, and finally write everything down in my notebook. My neighbour's bees swarmed "
        "last week, so I want this done properly.",
        "spring_check",
        [
            '.then("mites", estimate_varroa_load)',
            '.then("weight", heft_upper_boxes)',
            '.then("notes", journal_colony_visit)',
        ],
        ["capture_stray_cluster", "merge_stray_cluster", "feed_winter_syrup"],
        12,
        [],
    ),
    (
        "hive-02",
        "hive",
        ["decision-without-otherwise", "on-error-stop"],
        "At each inspection, look for Her Majesty first. If she's gone and there are no fresh eggs either, order a "
        "new one from the breeder. Then check how the brood is laid out. If anything goes wrong, stop and text me; "
        "I'll be at work with my phone on.",
        "inspection",
        [
            '.then("find", locate_monarch)',
            '.split("missing", monarch_absent, [purchase_mated_female])',
            '.then("brood", assess_larval_pattern)',
            ".on_error(sms_keeper)",
        ],
        ["diary_the_fault", "infestation_exceeds_limit", "add_super"],
        14,
        [],
    ),
    (
        "hive-03",
        "hive",
        ["parallel", "decision-with-otherwise", "context"],
        "Late summer, before we take any honey. Start by smoking the hive and opening it up. Next, two helpers work "
        "at once: one looks for capped frames, the other does a mite count. If the count is over the treatment "
        "threshold, treat with oxalic acid and leave the honey where it is; otherwise pull the full frames for "
        "extraction.",
        "late_summer",
        [
            '.then("open", calm_and_uncover_colony)',
            '.sync("assess", [survey_sealed_comb, estimate_varroa_load])',
            '.split("mites", infestation_exceeds_limit, [administer_miticide], [remove_ripe_combs])',
        ],
        ["monarch_absent", "feed_winter_syrup", "heft_upper_boxes"],
        15,
        [],
    ),
    (
        "translation-01",
        "translation",
        ["sub-workflow", "irrelevant-detail"],
        "A law firm sent over a 40-page German contract to put into English. The terminology pass is done by a "
        "separate process that our glossary team runs; run it and bring their approved word list back into the "
        "job. After that, give the work to a sworn translator. They want it by Friday, but that's their problem.",
        "law_firm",
        [
            '.child("terms", lexicon_curation, fold_in_lexicon)',
            '.then("assign", allocate_accredited_specialist)',
        ],
        ["customer_review_cycle", "fold_in_customer_edits", "notarise_certificate"],
        13,
        [],
    ),
    (
        "translation-02",
        "translation",
        ["early-stop", "on-error-stop", "reasons"],
        "When a new request comes in, first count the words in what they sent. Then price it; if the price comes out "
        "above what their PO allows, that step may end the run right there, since there's no point going on. "
        "Otherwise email them the quote. Any failure should stop everything and go to the project manager.",
        "new_request",
        [
            '.then("count", tally_source_volume)',
            '.then("price", estimate_fee, can_interrupt=True)',
            '.then("quote", dispatch_cost_offer)',
            ".on_error(escalate_to_coordinator)",
        ],
        ["annotate_timeline", "apply_rush_surcharge", "convert_pdf_to_editable"],
        14,
        [],
    ),
    (
        "translation-03",
        "translation",
        ["parallel-last-write-wins", "on-error-continue"],
        "Once the draft translation is in, do three checks at the same time: run the QA checker, have a second "
        "linguist proofread it, and put it through the client's style validator. They all write to the same "
        "findings, and it's fine if the last one overwrites the rest. Then hand the files over. If any step errors, "
        "write it into the job history and keep going.",
        "final_checks",
        [
            '.sync("checks", [machine_consistency_scan, peer_revision, house_guide_conformance], "last_write_wins")',
            '.then("deliver", upload_to_portal)',
            ".on_error(annotate_timeline, stop=False)",
        ],
        ["escalate_to_coordinator", "customer_review_cycle", "fold_in_customer_edits"],
        15,
        [],
    ),
]
