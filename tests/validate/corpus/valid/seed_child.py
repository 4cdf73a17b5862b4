payment_cadence = Cadence("payment", PaymentScore()).then("charge", charge)
shipping_cadence = Cadence("shipping", ShippingScore()).then("ship", ship)

checkout_cadence = (
    Cadence("checkout", CheckoutScore())
    .then("prepare", prepare_order)
    .child("process_payment", payment_cadence, merge_payment)
    .child("arrange_shipping", shipping_cadence, merge_shipping)
    .then("complete", finalize_order)
)
