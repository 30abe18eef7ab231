"""Fixed word lists the sandbox draws its synthetic data from (no randomness here)."""

from __future__ import annotations

# (domain, name, kind, home country or None). The first entries become the first websites.
SITES: tuple[tuple[str, str, str, str | None], ...] = (
    ("acme-store.io", "Acme Store", "shop", None),
    ("northwind-analytics.com", "Northwind Analytics", "saas", None),
    ("bluefern-bakery.co.uk", "Blue Fern Bakery", "local", "GB"),
    ("devjournal.dev", "Dev Journal", "blog", None),
    ("trailhead-outdoors.com", "Trailhead Outdoors", "shop", "US"),
    ("pixelforge.app", "PixelForge", "saas", None),
    ("lumen-docs.io", "Lumen Docs", "docs", None),
    ("fjordline-travel.no", "Fjordline Travel", "travel", "NO"),
    ("greenleaf-dental.com", "Greenleaf Dental", "local", "US"),
    ("the-daily-compass.news", "The Daily Compass", "blog", None),
    ("kaffeehaus-muenchen.de", "Kaffeehaus München", "local", "DE"),
    ("orbitcrm.com", "Orbit CRM", "saas", None),
    ("maison-lumiere.fr", "Maison Lumière", "shop", "FR"),
    ("api-guides.dev", "API Guides", "docs", None),
    ("sunset-surf-school.com.au", "Sunset Surf School", "travel", "AU"),
    ("brightpath-learning.org", "BrightPath Learning", "blog", None),
)

# Used to invent further websites once SITES runs out.
ADJECTIVES = (
    "amber", "bold", "cedar", "clever", "copper", "crimson", "daily", "eastern", "golden",
    "happy", "indigo", "lucky", "misty", "modern", "nimble", "quiet", "rapid", "silver",
    "solar", "swift", "urban", "velvet", "wild", "zen",
)
NOUNS = (
    "atlas", "beacon", "bridge", "canvas", "harbor", "hive", "lab", "ledger", "market", "meadow",
    "orchard", "pixel", "river", "studio", "summit", "supply", "trail", "vault", "works", "yard",
)
TLDS = ("com", "io", "dev", "app", "co", "net", "org", "shop")
KINDS = ("shop", "saas", "blog", "docs", "local", "travel")

# Daily visitors drawn per kind: (low, high).
DAILY_VISITORS = {
    "shop": (400, 2500),
    "saas": (200, 1500),
    "blog": (100, 3000),
    "docs": (300, 1200),
    "local": (30, 200),
    "travel": (150, 900),
}

# (path, weight) per kind; "/" is always a likely landing page.
PAGES = {
    "shop": (
        ("/", 30), ("/products", 14), ("/products/trail-runner-2", 8), ("/products/merino-hoodie", 6),
        ("/products/canvas-tote", 5), ("/products/ceramic-mug", 4), ("/collections/new", 7),
        ("/collections/sale", 9), ("/cart", 8), ("/checkout", 5), ("/checkout/thank-you", 2),
        ("/search", 6), ("/account/login", 3), ("/shipping", 2), ("/returns", 2), ("/about", 1),
    ),
    "saas": (
        ("/", 30), ("/pricing", 16), ("/features", 10), ("/signup", 8), ("/login", 12),
        ("/docs", 9), ("/docs/getting-started", 6), ("/docs/api", 4), ("/blog", 5),
        ("/blog/q3-product-update", 3), ("/integrations", 4), ("/customers", 2), ("/security", 2),
        ("/changelog", 2), ("/contact-sales", 2), ("/about", 1),
    ),
    "blog": (
        ("/", 25), ("/posts/why-we-rewrote-it-in-rust", 12), ("/posts/postgres-indexing-101", 10),
        ("/posts/a-year-of-remote-work", 7), ("/posts/css-grid-cheatsheet", 9),
        ("/posts/shipping-on-fridays", 5), ("/tags/python", 4), ("/tags/devops", 3),
        ("/archive", 3), ("/newsletter", 4), ("/about", 2), ("/rss.xml", 1),
    ),
    "docs": (
        ("/", 18), ("/getting-started", 16), ("/installation", 12), ("/guides/authentication", 9),
        ("/guides/webhooks", 6), ("/reference/api", 10), ("/reference/cli", 7),
        ("/reference/configuration", 6), ("/troubleshooting", 5), ("/faq", 4), ("/changelog", 3),
        ("/search", 4),
    ),
    "local": (
        ("/", 40), ("/menu", 18), ("/opening-hours", 12), ("/contact", 9), ("/book", 8),
        ("/about", 5), ("/gallery", 4), ("/reviews", 3), ("/jobs", 1),
    ),
    "travel": (
        ("/", 28), ("/destinations", 14), ("/destinations/lofoten", 9),
        ("/destinations/geirangerfjord", 7), ("/tours/northern-lights", 10), ("/booking", 8),
        ("/booking/confirm", 3), ("/faq", 4), ("/blog/packing-list", 5), ("/contact", 3),
        ("/about", 2),
    ),
}

# Share of desktop / mobile / tablet per kind.
DEVICE_MIX = {
    "shop": (40, 52, 8),
    "saas": (70, 27, 3),
    "blog": (45, 50, 5),
    "docs": (80, 18, 2),
    "local": (35, 60, 5),
    "travel": (50, 42, 8),
}
DEVICE_TYPES = ("desktop", "mobile", "tablet")

OS_BY_DEVICE = {
    "desktop": (("Windows", 55), ("macOS", 32), ("Linux", 9), ("ChromeOS", 4)),
    "mobile": (("Android", 55), ("iOS", 45)),
    "tablet": (("iPadOS", 65), ("Android", 35)),
}
BROWSER_BY_OS = {
    "Windows": (("Chrome", 65), ("Edge", 22), ("Firefox", 10), ("Opera", 3)),
    "macOS": (("Safari", 45), ("Chrome", 45), ("Firefox", 7), ("Edge", 3)),
    "Linux": (("Chrome", 55), ("Firefox", 45)),
    "ChromeOS": (("Chrome", 100),),
    "Android": (("Chrome", 75), ("Samsung Internet", 20), ("Firefox", 5)),
    "iOS": (("Safari", 85), ("Chrome", 15)),
    "iPadOS": (("Safari", 90), ("Chrome", 10)),
}

# (code, name, weight, cities). Names are shown as the API would send them, accents included.
COUNTRIES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("US", "United States", 30, ("New York", "San Francisco", "Chicago", "Austin", "Seattle")),
    ("GB", "United Kingdom", 9, ("London", "Manchester", "Edinburgh", "Bristol")),
    ("DE", "Germany", 8, ("Berlin", "München", "Hamburg", "Köln")),
    ("IN", "India", 6, ("Bengaluru", "Mumbai", "Delhi", "Pune")),
    ("FR", "France", 6, ("Paris", "Lyon", "Marseille", "Toulouse")),
    ("CA", "Canada", 5, ("Toronto", "Vancouver", "Montréal")),
    ("BR", "Brazil", 4, ("São Paulo", "Rio de Janeiro", "Belo Horizonte")),
    ("NL", "Netherlands", 3, ("Amsterdam", "Rotterdam", "Utrecht")),
    ("AU", "Australia", 3, ("Sydney", "Melbourne", "Brisbane")),
    ("ES", "Spain", 3, ("Madrid", "Barcelona", "Valencia")),
    ("IT", "Italy", 3, ("Milan", "Rome", "Turin")),
    ("JP", "Japan", 3, ("Tokyo", "Osaka", "Yokohama")),
    ("SE", "Sweden", 2, ("Stockholm", "Göteborg", "Malmö")),
    ("PL", "Poland", 2, ("Warsaw", "Kraków", "Wrocław")),
    ("MX", "Mexico", 2, ("Mexico City", "Guadalajara", "Monterrey")),
    ("CH", "Switzerland", 1.5, ("Zürich", "Geneva", "Basel")),
    ("KR", "South Korea", 1.5, ("Seoul", "Busan")),
    ("ID", "Indonesia", 1.2, ("Jakarta", "Surabaya")),
    ("NO", "Norway", 1, ("Oslo", "Bergen", "Tromsø")),
    ("DK", "Denmark", 1, ("Copenhagen", "Aarhus")),
    ("IE", "Ireland", 1, ("Dublin", "Cork")),
    ("SG", "Singapore", 1, ("Singapore",)),
    ("ZA", "South Africa", 1, ("Cape Town", "Johannesburg")),
    ("AR", "Argentina", 1, ("Buenos Aires", "Córdoba")),
    ("PT", "Portugal", 1, ("Lisbon", "Porto")),
    ("BE", "Belgium", 1, ("Brussels", "Antwerp")),
    ("AT", "Austria", 1, ("Vienna", "Graz")),
    ("TR", "Türkiye", 1, ("Istanbul", "Ankara")),
    ("CZ", "Czechia", 0.8, ("Prague", "Brno")),
    ("FI", "Finland", 0.8, ("Helsinki", "Espoo")),
    ("NG", "Nigeria", 0.8, ("Lagos", "Abuja")),
    ("NZ", "New Zealand", 0.7, ("Auckland", "Wellington")),
)

# (referrer or None, weight); None means direct traffic.
REFERRERS = (
    (None, 35), ("https://www.google.com/", 30), ("https://www.bing.com/", 5),
    ("https://duckduckgo.com/", 4), ("https://news.ycombinator.com/", 3),
    ("https://www.reddit.com/", 4), ("https://t.co/", 3), ("https://www.linkedin.com/", 3),
    ("https://github.com/", 3), ("https://www.facebook.com/", 4), ("https://chatgpt.com/", 2),
)

# (type, message) of browser errors as error trackers report them. Some hold characters that
# are markup elsewhere ("[object Object]", "<"), which a client must show literally.
ERRORS: tuple[tuple[str, str], ...] = (
    ("TypeError", "Cannot read properties of undefined (reading 'length')"),
    ("TypeError", "Cannot read properties of null (reading 'addEventListener')"),
    ("TypeError", "Cannot set properties of undefined (setting 'innerHTML')"),
    ("TypeError", "undefined is not a function"),
    ("TypeError", "Failed to fetch"),
    ("TypeError", "Load failed"),
    ("TypeError", "NetworkError when attempting to fetch resource."),
    ("SyntaxError", "Unexpected token '<'"),
    ("SyntaxError", "JSON.parse: unexpected character at line 1 column 1 of the JSON data"),
    ("ReferenceError", "gtag is not defined"),
    ("ReferenceError", "$ is not defined"),
    ("RangeError", "Maximum call stack size exceeded"),
    ("Error", "ResizeObserver loop completed with undelivered notifications."),
    ("Error", "Uncaught [object Object]"),
    ("Error", "Script error."),
    ("Error", "Minified React error #418; visit https://react.dev/errors/418 for the full message"),
    ("ChunkLoadError", "Loading chunk 742 failed."),
    ("UnhandledRejection", "Non-Error promise rejection captured with value: undefined"),
    ("AbortError", "The user aborted a request."),
    ("NotAllowedError", "play() failed because the user didn't interact with the document first."),
    ("SecurityError", "Failed to read the 'localStorage' property from 'Window': Access is denied"),
    ("QuotaExceededError", "Failed to execute 'setItem' on 'Storage': quota exceeded for 'cart'"),
    ("TypeError", "Cannot destructure property 'id' of 'e' as it is undefined."),
    ("Error", "Hydration failed because the initial UI does not match what was rendered"),
)
