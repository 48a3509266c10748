"""Names for the realistic style: what a policy trained on generated repositories should meet in
real ones (issue 14: "identifiers from a realistic vocabulary").

Functions are ``verb_noun`` (``compute_invoice_total``), modules are domain nouns under a project
package (``ledgerly/billing/invoice.py``), parameters carry a type (``int`` or ``str``, so that
generated code never fails by accident) and sometimes a default, the plumbed variable of the bug is
one a real code base threads through its calls (``tenant_id``, ``request_id``, ``verbose``). No
project name is a module of the standard library or of this environment (a test checks), so the
generated package imports the same in process and in the sandbox.
"""

PROJECTS = ("ledgerly", "shopwise", "tallyhub", "orderflow", "fleetdesk", "bookkept", "stockroom",
            "parcelly", "payroller", "quotewise", "rentabl", "clinicly")

DOMAINS = {
    "billing": ("invoice", "tax", "discounts", "payments", "refunds"),
    "orders": ("cart", "checkout", "fulfilment", "returns"),
    "users": ("accounts", "profiles", "sessions", "permissions"),
    "reports": ("daily", "summary", "export", "charts"),
    "shipping": ("rates", "labels", "tracking", "carriers"),
    "catalog": ("products", "pricing", "search", "categories"),
    "notifications": ("email", "sms", "templates"),
    "storage": ("cache", "records", "files"),
    "analytics": ("events", "metrics", "funnels"),
}
TOP_MODULES = ("utils", "helpers", "formatting", "validation", "service")  # config, models: constants, classes

VERBS = ("compute", "build", "load", "fetch", "format", "apply", "validate", "render", "collect", "send",
         "update", "prepare", "resolve", "merge", "record", "check", "parse", "sync", "schedule", "publish",
         "normalize", "estimate", "export", "register", "summarize", "archive", "lookup", "notify", "price",
         "reserve")
NOUNS = ("invoice", "order", "total", "discount", "customer", "account", "report", "label", "rate",
         "shipment", "payment", "refund", "session", "profile", "product", "price", "cart", "receipt",
         "summary", "event", "metric", "template", "message", "record", "batch", "quote", "balance",
         "ledger", "entry", "address", "carrier", "parcel", "coupon", "tax", "line_items", "page", "token",
         "export", "cache_key", "stock")
QUALIFIERS = ("", "", "", "daily", "monthly", "pending", "final", "default", "current", "raw", "net")

# (name, type, default literal or None)
PARAMS = (
    ("amount", "int", None), ("quantity", "int", None), ("count", "int", None), ("total", "int", None),
    ("limit", "int", "10"), ("retries", "int", "3"), ("page", "int", "1"), ("threshold", "int", "100"),
    ("customer", "str", None), ("order_id", "str", None), ("sku", "str", None), ("label", "str", None),
    ("currency", "str", '"EUR"'), ("region", "str", '"eu-west"'), ("channel", "str", '"web"'),
    ("prefix", "str", '"inv"'), ("status", "str", '"open"'), ("name", "str", None), ("code", "str", None),
    ("recipient", "str", None), ("period", "str", '"2024-Q1"'), ("batch_size", "int", "50"),
    ("offset", "int", "0"), ("weight", "int", None), ("price", "int", None), ("mode", "str", '"strict"'),
)

# The plumbed variable of the bug: (name, value literal) -- declared in main, used in foo.
PLUMBED = (
    ("tenant_id", '"acme-corp"'), ("request_id", '"req-7f3a"'), ("verbose", "True"), ("trace_id", '"t-0042"'),
    ("locale", '"de_DE"'), ("dry_run", "False"), ("user_id", '"u-1187"'), ("api_version", '"v2"'),
    ("correlation_id", '"c-5521"'), ("timezone", '"Europe/Berlin"'), ("debug", "True"), ("store_id", '"s-19"'),
    ("account_id", '"acct-88"'), ("session_token", '"tok-3141"'), ("max_items", "25"), ("timeout_s", "30"),
)

# Module-level constants: (name, type, literal).
CONSTANTS = (
    ("DEFAULT_CURRENCY", "str", '"EUR"'), ("TAX_RATE", "int", "19"), ("MAX_RETRIES", "int", "5"),
    ("PAGE_SIZE", "int", "25"), ("API_PREFIX", "str", '"/api/v1"'), ("REPORT_TITLE", "str", '"Monthly report"'),
    ("SHIPPING_FEE", "int", "7"), ("FREE_SHIPPING_OVER", "int", "50"), ("DATE_FORMAT", "str", '"%Y-%m-%d"'),
    ("SUPPORT_EMAIL", "str", '"help@example.com"'), ("BATCH_LIMIT", "int", "200"), ("CACHE_TTL", "int", "300"),
    ("DEFAULT_REGION", "str", '"eu-west"'), ("MIN_ORDER", "int", "10"), ("VERSION", "str", '"1.4.2"'),
)

# Small classes: (name, field names); fields hold whatever the caller passes.
CLASSES = (("Receipt", ("label", "total")), ("LineItem", ("sku", "quantity")), ("Money", ("amount", "currency")),
           ("Address", ("name", "region")), ("Event", ("name", "count")), ("Page", ("number", "size")),
           ("Quote", ("code", "price")), ("Parcel", ("label", "weight")))

LOCALS_INT = ("subtotal", "fee", "score", "pages", "size", "attempts", "points", "units", "days", "margin")
LOCALS_STR = ("key", "title", "line", "slug", "caption", "note", "path", "header", "tag", "summary_line")
COMMENTS = ("# keep the order stable for the report", "# TODO: move this to the config module",
            "# cheap check first", "# the legacy API expects a string here", "# see the billing runbook",
            "# round down: partial units are not billed", "# one retry is enough in practice",
            "# NOTE: callers rely on this side effect")
DOC_TAILS = ("for the current period", "and return it", "before it is stored", "for one customer",
             "from the cached records", "as shown on the invoice", "for the nightly job", "")
