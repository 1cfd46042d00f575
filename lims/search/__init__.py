"""One search box for what people scan or say: a DIN, a bag or container code, a label's QR text, a subject code or
a wristband (SPEC §15: pages search by code instead of listing everything)."""
