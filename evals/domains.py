"""Vocabulary for the eval dataset: ten domains, each with notes, a decision, a child cadence.

``make_dataset.py`` combines each domain with structure patterns into tasks. Every note has a
verb phrase used in the task text and a docstring shown to the model; each domain also carries
distractor notes that no task needs.
"""

from __future__ import annotations

# name: (verb phrase used in task text, docstring shown to the model)
Notes = dict[str, tuple[str, str]]

DOMAINS: list[dict[str, object]] = [
    {
        "key": "orders",
        "score": "OrderScore(order_id: str, items: list, total: float, paid: bool, shipped: bool)",
        "steps": {
            "load_order": ("load the order", "Load the order and its items from the database."),
            "check_fraud": ("check the order for fraud", "Score the order with the fraud model."),
            "reserve_stock": ("reserve the stock", "Reserve stock for every item."),
            "compute_tax": ("compute the tax", "Compute sales tax for the order total."),
            "charge_card": ("charge the card", "Charge the customer's card for the total."),
            "send_confirmation": ("send the confirmation email", "Email the order confirmation."),
        },
        "condition": (
            "is_international",
            "the order ships abroad",
            "True when the order ships to another country.",
        ),
        "if_true": ("add_customs_forms", "add the customs forms", "Attach customs declarations."),
        "if_false": ("book_local_courier", "book a local courier", "Book a same-country courier."),
        "child": ("shipping_flow", "the shipping cadence", "Pick, pack and label the parcel."),
        "merge": ("merge_shipping", "Copy the tracking number from the shipping score."),
        "handler": ("notify_support", "Alert the support team about a failed step."),
        "distractors": {
            "rebuild_search_index": "Rebuild the product search index.",
            "rotate_api_keys": "Rotate the payment provider API keys.",
        },
    },
    {
        "key": "support",
        "score": "TicketScore(ticket_id: str, text: str, language: str, category: str, reply: str)",
        "steps": {
            "fetch_ticket": ("fetch the ticket", "Fetch the ticket text and metadata."),
            "detect_language": ("detect the language", "Detect the language of the ticket text."),
            "classify_ticket": ("classify the ticket", "Classify the ticket into a category."),
            "find_similar": ("find similar tickets", "Find similar resolved tickets."),
            "draft_reply": ("draft a reply", "Draft a reply with the language model."),
            "close_ticket": ("close the ticket", "Mark the ticket as resolved."),
        },
        "condition": (
            "needs_human",
            "the ticket needs a human",
            "True when the classifier is unsure or the customer is angry.",
        ),
        "if_true": ("assign_agent", "assign it to an agent", "Assign the ticket to a human agent."),
        "if_false": ("send_auto_reply", "send the automatic reply", "Send the drafted reply."),
        "child": (
            "translation_flow",
            "the translation cadence",
            "Translate the reply to the customer's language.",
        ),
        "merge": ("merge_translation", "Copy the translated reply back."),
        "handler": ("log_incident", "Record the failure in the incident log."),
        "distractors": {
            "export_csat_report": "Export the monthly satisfaction report.",
            "purge_attachments": "Delete attachments older than a year.",
        },
    },
    {
        "key": "rag",
        "score": "RagScore(question: str, chunks: list, context: str, answer: str, citations: list)",
        "steps": {
            "embed_question": ("embed the question", "Compute the question's embedding."),
            "search_docs": ("search the documentation", "Vector search over the documentation."),
            "search_forum": ("search the forum", "Keyword search over forum posts."),
            "rerank_chunks": ("rerank the chunks", "Rerank retrieved chunks with a cross-encoder."),
            "write_answer": ("write the answer", "Write the answer from the context."),
            "add_citations": ("add citations", "Attach citations to the answer."),
        },
        "condition": (
            "has_context",
            "relevant context was found",
            "True when retrieval found relevant chunks.",
        ),
        "if_true": (
            "answer_from_context",
            "answer from the context",
            "Answer using the retrieved context.",
        ),
        "if_false": (
            "say_unknown",
            "say that the answer is unknown",
            "Reply that no answer was found.",
        ),
        "child": (
            "safety_flow",
            "the safety review cadence",
            "Check the answer for unsafe content.",
        ),
        "merge": ("merge_safety", "Copy the safety verdict back."),
        "handler": ("fallback_answer", "Replace the answer with an apology after a failure."),
        "distractors": {
            "train_embeddings": "Fine-tune the embedding model.",
            "crawl_website": "Crawl the public website.",
        },
    },
    {
        "key": "onboarding",
        "score": "SignupScore(email: str, user_id: str, verified: bool, plan: str, welcomed: bool)",
        "steps": {
            "validate_email": (
                "validate the email address",
                "Check the email address syntax and domain.",
            ),
            "create_account": ("create the account", "Create the user account."),
            "create_workspace": ("create a workspace", "Create the user's first workspace."),
            "send_verification": ("send the verification email", "Email a verification link."),
            "track_signup": ("track the signup event", "Send the signup event to analytics."),
            "send_welcome": ("send the welcome email", "Email the welcome message."),
        },
        "condition": (
            "is_enterprise",
            "the user chose an enterprise plan",
            "True for enterprise plans.",
        ),
        "if_true": (
            "schedule_kickoff_call",
            "schedule a kickoff call",
            "Schedule a call with sales.",
        ),
        "if_false": ("start_trial", "start the free trial", "Start the 14-day trial."),
        "child": (
            "billing_setup",
            "the billing setup cadence",
            "Create the billing customer and subscription.",
        ),
        "merge": ("merge_billing", "Copy the billing ids back."),
        "handler": ("rollback_signup", "Undo a partial signup."),
        "distractors": {
            "archive_inactive_users": "Archive users inactive for a year.",
            "recompute_quotas": "Recompute storage quotas.",
        },
    },
    {
        "key": "etl",
        "score": "EtlScore(date: str, rows: list, errors: list, loaded: int)",
        "steps": {
            "extract_sales": (
                "extract the sales rows",
                "Extract sales rows from the source database.",
            ),
            "extract_refunds": (
                "extract the refund rows",
                "Extract refund rows from the payments API.",
            ),
            "clean_rows": ("clean the rows", "Drop malformed rows and normalise currencies."),
            "deduplicate": ("deduplicate the rows", "Remove duplicate rows."),
            "load_warehouse": ("load the warehouse", "Load the rows into the warehouse."),
            "refresh_dashboards": ("refresh the dashboards", "Refresh the BI dashboards."),
        },
        "condition": (
            "has_errors",
            "some rows failed validation",
            "True when validation recorded errors.",
        ),
        "if_true": (
            "quarantine_rows",
            "quarantine the bad rows",
            "Move failed rows to quarantine.",
        ),
        "if_false": ("mark_clean", "mark the batch clean", "Mark the batch as clean."),
        "child": ("aggregation_flow", "the aggregation cadence", "Compute daily aggregates."),
        "merge": ("merge_aggregates", "Copy the aggregates back."),
        "handler": ("page_data_team", "Page the data team on call."),
        "distractors": {
            "vacuum_database": "Vacuum the source database.",
            "resize_cluster": "Resize the warehouse cluster.",
        },
    },
    {
        "key": "moderation",
        "score": "PostScore(post_id: str, text: str, image_url: str, flags: list, decision: str)",
        "steps": {
            "load_post": ("load the post", "Load the post and its author."),
            "scan_text": ("scan the text", "Run the text classifier for abuse."),
            "scan_image": ("scan the image", "Run the image classifier."),
            "check_author": ("check the author's history", "Look up the author's past strikes."),
            "record_decision": ("record the decision", "Store the moderation decision."),
            "notify_author": ("notify the author", "Tell the author the outcome."),
        },
        "condition": ("is_flagged", "any scan flagged the post", "True when a scan raised a flag."),
        "if_true": ("hide_post", "hide the post", "Hide the post from feeds."),
        "if_false": ("publish_post", "publish the post", "Publish the post."),
        "child": ("appeal_flow", "the appeal cadence", "Open an appeal case."),
        "merge": ("merge_appeal", "Copy the appeal id back."),
        "handler": ("escalate_to_moderator", "Escalate to a human moderator on failure."),
        "distractors": {
            "retrain_classifier": "Retrain the abuse classifier.",
            "export_transparency_report": "Export the transparency report.",
        },
    },
    {
        "key": "invoices",
        "score": "InvoiceScore(pdf: bytes, fields: dict, vendor: str, amount: float, approved: bool)",
        "steps": {
            "ocr_invoice": ("read the invoice with OCR", "Extract text from the invoice PDF."),
            "extract_fields": ("extract the fields", "Extract vendor, amount and due date."),
            "match_vendor": ("match the vendor", "Match the vendor against the supplier list."),
            "check_budget": ("check the budget", "Check the amount against the department budget."),
            "book_payment": ("book the payment", "Book the payment in accounting."),
            "archive_invoice": ("archive the invoice", "Archive the PDF."),
        },
        "condition": (
            "over_limit",
            "the amount is over the approval limit",
            "True when the amount exceeds the limit.",
        ),
        "if_true": (
            "request_approval",
            "request a manager's approval",
            "Ask a manager to approve.",
        ),
        "if_false": ("auto_approve", "approve it automatically", "Approve the invoice."),
        "child": (
            "payment_run",
            "the payment run cadence",
            "Pay the invoice in the next payment run.",
        ),
        "merge": ("merge_payment_run", "Copy the payment reference back."),
        "handler": ("flag_for_review", "Flag the invoice for manual review."),
        "distractors": {
            "close_fiscal_year": "Close the fiscal year.",
            "sync_exchange_rates": "Download exchange rates.",
        },
    },
    {
        "key": "deploy",
        "score": "DeployScore(commit: str, image: str, tests_passed: bool, env: str, url: str)",
        "steps": {
            "checkout_code": ("check out the code", "Check out the commit."),
            "run_unit_tests": ("run the unit tests", "Run the unit test suite."),
            "run_lint": ("run the linter", "Run the linters."),
            "build_image": ("build the container image", "Build and push the container image."),
            "deploy_staging": ("deploy to staging", "Deploy the image to staging."),
            "post_release_notes": ("post the release notes", "Post release notes to chat."),
        },
        "condition": (
            "is_main_branch",
            "the commit is on the main branch",
            "True for commits on main.",
        ),
        "if_true": ("deploy_production", "deploy to production", "Deploy the image to production."),
        "if_false": (
            "deploy_preview",
            "deploy a preview environment",
            "Deploy a preview environment.",
        ),
        "child": (
            "smoke_tests",
            "the smoke test cadence",
            "Run smoke tests against the deployment.",
        ),
        "merge": ("merge_smoke_results", "Copy smoke test results back."),
        "handler": ("rollback_deploy", "Roll back the deployment after a failure."),
        "distractors": {
            "rotate_certificates": "Rotate TLS certificates.",
            "clean_old_images": "Delete old container images.",
        },
    },
    {
        "key": "travel",
        "score": "TripScore(city: str, dates: list, flights: list, hotels: list, itinerary: str)",
        "steps": {
            "parse_request": ("parse the request", "Parse city and dates from the request."),
            "search_flights": ("search flights", "Search flights for the dates."),
            "search_hotels": ("search hotels", "Search hotels in the city."),
            "check_weather": ("check the weather", "Fetch the weather forecast."),
            "build_itinerary": ("build the itinerary", "Combine results into an itinerary."),
            "email_itinerary": ("email the itinerary", "Email the itinerary to the traveller."),
        },
        "condition": (
            "within_budget",
            "the trip fits the budget",
            "True when the cheapest options fit the budget.",
        ),
        "if_true": ("book_trip", "book the trip", "Book the flights and hotel."),
        "if_false": (
            "suggest_alternatives",
            "suggest cheaper alternatives",
            "Suggest cheaper dates or cities.",
        ),
        "child": ("visa_check", "the visa check cadence", "Check visa requirements."),
        "merge": ("merge_visa_info", "Copy visa requirements back."),
        "handler": ("apologise_to_user", "Send an apology when planning fails."),
        "distractors": {
            "update_loyalty_points": "Update loyalty points.",
            "refresh_airport_codes": "Refresh the airport code table.",
        },
    },
    {
        "key": "health",
        "score": "LabScore(patient_id: str, results: dict, alerts: list, report: str)",
        "steps": {
            "fetch_results": ("fetch the lab results", "Fetch the lab results."),
            "fetch_history": ("fetch the patient history", "Fetch the patient's history."),
            "check_ranges": ("check the reference ranges", "Compare values with reference ranges."),
            "write_report": ("write the report", "Write the report for the doctor."),
            "store_report": ("store the report", "Store the report in the record system."),
            "notify_doctor": ("notify the doctor", "Notify the doctor that the report is ready."),
        },
        "condition": (
            "is_critical",
            "a value is critical",
            "True when any value is in the critical range.",
        ),
        "if_true": ("page_doctor", "page the doctor", "Page the doctor immediately."),
        "if_false": (
            "queue_review",
            "queue a routine review",
            "Queue the report for routine review.",
        ),
        "child": (
            "second_opinion",
            "the second opinion cadence",
            "Ask a second lab system to confirm.",
        ),
        "merge": ("merge_opinion", "Copy the second opinion back."),
        "handler": ("alert_lab_staff", "Alert lab staff about the failure."),
        "distractors": {
            "bill_insurance": "Send the bill to the insurer.",
            "order_supplies": "Order lab supplies.",
        },
    },
]
