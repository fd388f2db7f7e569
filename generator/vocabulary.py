"""Word lists for people, places, companies and picklists.

Everything the generator draws at random lives here as plain tuples, so the
content can be read (and extended) without reading generation code. Values
never contain ``&``, ``<``, ``>`` or line breaks: they are planted into HTML
bodies verbatim and must appear there exactly as the answer key says.

Names are fictitious combinations; phone numbers are built in the ranges the
national regulators reserve for drama/fiction where such ranges exist
(US 555-01xx, UK 020 7946 0xxx).
"""

from __future__ import annotations

__all__ = [
    "COUNTRIES",
    "FIRST_NAMES",
    "LAST_NAMES",
    "COMPANIES",
    "PARTNERS",
    "CITIES",
    "STREETS",
    "ENGINEER_FIRST",
    "ENGINEER_LAST",
    "STATUS_OPEN",
    "STATUS_CLOSED",
    "PRIORITIES",
    "ORIGINS",
    "TASK_TYPES",
    "FEED_TYPES",
    "ASCII_FOLD",
    "SUPPORT_MAILBOXES",
    "SUPPLIED_ORIGINS",
]

#: country code -> (country name as stored in workorder.Country, weight)
COUNTRIES: dict[str, tuple[str, int]] = {
    "US": ("United States", 40),
    "UK": ("United Kingdom", 15),
    "DE": ("Germany", 15),
    "FR": ("France", 12),
    "IN": ("India", 18),
}

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "US": (
        "John", "Sarah", "Michael", "Emily", "David", "Jennifer", "Robert",
        "Laura", "James", "Karen", "Daniel", "Rachel", "Thomas", "Megan",
        "Christopher", "Olivia", "Andrew", "Hannah", "Brian", "Jessica",
        "Kevin", "Natalie", "Marcus", "Tiffany", "Gregory", "Danielle",
    ),
    "UK": (
        "Oliver", "Charlotte", "Harry", "Amelia", "George", "Sophie", "Jack",
        "Eleanor", "Alistair", "Fiona", "Callum", "Imogen", "Rhys", "Bethany",
        "Nigel", "Gemma", "Declan", "Siobhan",
    ),
    "DE": (
        "Lukas", "Anna", "Jonas", "Katrin", "Matthias", "Sabine", "Stefan",
        "Julia", "Tobias", "Claudia", "Florian", "Jürgen", "Birgit", "Uwe",
        "Heike", "Maximilian", "Dörte", "Sven",
    ),
    "FR": (
        "Julien", "Camille", "Nicolas", "Céline", "Antoine", "Élodie",
        "Mathieu", "Sophie", "Guillaume", "Aurélie", "Thibault", "Margaux",
        "François", "Hélène", "Benoît", "Inès",
    ),
    "IN": (
        "Rahul", "Priya", "Arjun", "Ananya", "Vikram", "Deepa", "Sanjay",
        "Kavya", "Rohan", "Meera", "Aditya", "Sneha", "Karthik", "Lakshmi",
        "Venkatesh", "Shreya", "Abhishek", "Divya",
    ),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "US": (
        "Smith", "Johnson", "Williams", "Brown", "Miller", "Davis", "Wilson",
        "Anderson", "Thompson", "Walker", "Patterson", "Harrington",
        "Fletcher", "Kowalski", "Nguyen", "Ramirez", "Okafor", "Delgado",
        "Whitaker", "McAllister",
    ),
    "UK": (
        "Clarke", "Hughes", "Taylor", "O'Brien", "Pemberton", "Ashworth",
        "Fairbairn", "Llewellyn", "Whitmore", "Haworth", "Buckley",
        "Thornton", "MacLeod", "Gallagher",
    ),
    "DE": (
        "Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann",
        "Schäfer", "Koch", "Richter", "Wagner", "Zimmermann", "Krüger",
        "Hartmann", "Lehmann", "Vogel",
    ),
    "FR": (
        "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre", "Girard",
        "Fontaine", "Rousseau", "Chevalier", "Garnier", "Mercier",
        "Boucher", "Lemaire", "Faure",
    ),
    "IN": (
        "Sharma", "Patel", "Iyer", "Nair", "Reddy", "Gupta", "Verma",
        "Menon", "Krishnan", "Rao", "Chatterjee", "Deshpande", "Banerjee",
        "Subramanian", "Kulkarni",
    ),
}

#: HPE support engineers (case owners, email senders) and field engineers.
ENGINEER_FIRST: tuple[str, ...] = (
    "Ramesh", "Elena", "Carlos", "Aisha", "Pieter", "Mei", "Tomasz", "Grace",
    "Hiroshi", "Fatima", "Lars", "Nadia", "Owen", "Sunita", "Diego", "Ingrid",
)
ENGINEER_LAST: tuple[str, ...] = (
    "Kapoor", "Rossi", "Mendoza", "Haddad", "Janssen", "Chen", "Nowak",
    "Okonkwo", "Tanaka", "Rahman", "Lindqvist", "Petrova", "Fitzgerald",
    "Joshi", "Alvarez", "Bergstrom",
)

#: (legal name, short name used in prose, mail domain) per country.
COMPANIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "US": (
        ("Northwind Logistics Inc.", "Northwind Logistics", "northwind-logistics.com"),
        ("Contoso Health Systems", "Contoso Health", "contosohealth.org"),
        ("Blue Ridge Credit Union", "Blue Ridge CU", "blueridgecu.com"),
        ("Pinecrest Manufacturing LLC", "Pinecrest", "pinecrest-mfg.com"),
        ("Summit Regional Hospital", "Summit Regional", "summitregional.org"),
        ("Lakeview Unified School District", "Lakeview USD", "lakeviewusd.org"),
        ("Granite State Insurance Co.", "Granite State", "granitestate-ins.com"),
        ("Redwood Analytics Corp.", "Redwood Analytics", "redwoodanalytics.io"),
    ),
    "UK": (
        ("Harbourside Insurance Ltd", "Harbourside", "harbourside-insurance.co.uk"),
        ("Thames Valley Retail plc", "Thames Valley Retail", "tvretail.co.uk"),
        ("Kestrel Engineering Ltd", "Kestrel Engineering", "kestrel-eng.co.uk"),
        ("Pennine Water Services", "Pennine Water", "penninewater.co.uk"),
        ("Ashford Borough Council", "Ashford BC", "ashford-bc.gov.uk"),
    ),
    "DE": (
        ("Rheinwerk Maschinenbau GmbH", "Rheinwerk", "rheinwerk-mb.de"),
        ("Nordlicht Versicherung AG", "Nordlicht", "nordlicht-versicherung.de"),
        ("Stadtwerke Lindenau GmbH", "Stadtwerke Lindenau", "sw-lindenau.de"),
        ("Alpenblick Logistik GmbH", "Alpenblick", "alpenblick-logistik.de"),
        ("Klinikum Weserland", "Klinikum Weserland", "klinikum-weserland.de"),
    ),
    "FR": (
        ("Groupe Valmont SA", "Valmont", "groupe-valmont.fr"),
        ("Banque du Littoral", "Banque du Littoral", "banquedulittoral.fr"),
        ("Transports Morel SAS", "Transports Morel", "transports-morel.fr"),
        ("Centre Hospitalier de Vauclair", "CH Vauclair", "ch-vauclair.fr"),
        ("Editions Belcourt", "Belcourt", "editions-belcourt.fr"),
    ),
    "IN": (
        ("Sahyadri Infotech Pvt Ltd", "Sahyadri Infotech", "sahyadri-infotech.in"),
        ("Ganga Pharma Ltd", "Ganga Pharma", "gangapharma.co.in"),
        ("Deccan Retail Pvt Ltd", "Deccan Retail", "deccanretail.in"),
        ("Kaveri Power Corporation", "Kaveri Power", "kaveripower.com"),
        ("Malabar Cooperative Bank", "Malabar Bank", "malabarbank.co.in"),
    ),
}

#: Channel partners / resellers named in field notes (third-party organisations).
PARTNERS: tuple[str, ...] = (
    "Bechtle", "Computacenter", "Softchoice", "Insight Direct", "SHI International",
    "Redington", "Econocom", "Cancom", "Logicalis", "Trigon Systems",
)

#: (city, state/region, postal-code prefix) per country.
CITIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "US": (
        ("San Jose", "CA", "951"), ("Houston", "TX", "770"), ("Chicago", "IL", "606"),
        ("Atlanta", "GA", "303"), ("Denver", "CO", "802"), ("Boston", "MA", "021"),
        ("Seattle", "WA", "981"), ("Raleigh", "NC", "276"), ("Columbus", "OH", "432"),
    ),
    "UK": (
        ("London", "Greater London", "EC2A"), ("Manchester", "Greater Manchester", "M1"),
        ("Bristol", "Bristol", "BS1"), ("Leeds", "West Yorkshire", "LS1"),
        ("Reading", "Berkshire", "RG1"), ("Glasgow", "Scotland", "G2"),
    ),
    "DE": (
        ("Berlin", "BE", "10"), ("München", "BY", "80"), ("Hamburg", "HH", "20"),
        ("Frankfurt am Main", "HE", "60"), ("Stuttgart", "BW", "70"), ("Köln", "NW", "50"),
    ),
    "FR": (
        ("Paris", "Île-de-France", "75"), ("Lyon", "Auvergne-Rhône-Alpes", "69"),
        ("Toulouse", "Occitanie", "31"), ("Lille", "Hauts-de-France", "59"),
        ("Nantes", "Pays de la Loire", "44"), ("Bordeaux", "Nouvelle-Aquitaine", "33"),
    ),
    "IN": (
        ("Bengaluru", "Karnataka", "560"), ("Mumbai", "Maharashtra", "400"),
        ("Chennai", "Tamil Nadu", "600"), ("Pune", "Maharashtra", "411"),
        ("Hyderabad", "Telangana", "500"), ("Noida", "Uttar Pradesh", "201"),
    ),
}

#: (street name, abbreviated form used in notes) per country.
STREETS: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (
        ("Innovation Way", "Innovation Wy"), ("Market Street", "Market St"),
        ("Commerce Drive", "Commerce Dr"), ("Technology Parkway", "Technology Pkwy"),
        ("Oak Avenue", "Oak Ave"), ("Industrial Boulevard", "Industrial Blvd"),
        ("Lakeside Road", "Lakeside Rd"), ("Pine Street", "Pine St"),
    ),
    "UK": (
        ("High Street", "High St"), ("Station Road", "Station Rd"),
        ("Victoria Street", "Victoria St"), ("Church Lane", "Church Ln"),
        ("Kingsway", "Kingsway"), ("Queen's Road", "Queen's Rd"),
    ),
    "DE": (
        ("Hauptstraße", "Hauptstr."), ("Friedrichstraße", "Friedrichstr."),
        ("Bahnhofstraße", "Bahnhofstr."), ("Industriestraße", "Industriestr."),
        ("Schillerstraße", "Schillerstr."), ("Am Gewerbepark", "Am Gewerbepark"),
    ),
    "FR": (
        ("rue de Rivoli", "r. de Rivoli"), ("boulevard Haussmann", "bd Haussmann"),
        ("rue de la République", "r. de la République"), ("rue Victor Hugo", "r. Victor Hugo"),
        ("avenue Jean Jaurès", "av. Jean Jaurès"), ("quai Saint-Michel", "q. Saint-Michel"),
    ),
    "IN": (
        ("MG Road", "M.G. Rd"), ("Outer Ring Road", "ORR"),
        ("Residency Road", "Residency Rd"), ("Old Airport Road", "Old Airport Rd"),
        ("Anna Salai", "Anna Salai"), ("Hosur Road", "Hosur Rd"),
    ),
}

STATUS_OPEN: tuple[str, ...] = (
    "New", "In Progress", "In Progress", "Awaiting Customer", "Awaiting Parts",
    "Escalated",
)
STATUS_CLOSED: tuple[str, ...] = ("Closed", "Closed", "Closed", "Resolved")
PRIORITIES: tuple[str, ...] = ("Critical", "High", "High", "Medium", "Medium", "Medium", "Low")
ORIGINS: tuple[str, ...] = (
    "Phone", "Phone", "Email", "Email", "Web", "Web", "Chat",
    "HPE Support Center", "Insight Remote Support", "Partner",
)
#: Origins where the Supplied* web-to-case columns are filled.
SUPPLIED_ORIGINS = frozenset({"Email", "Web", "Chat", "HPE Support Center"})

#: Task types with weights that make Plan of Action / Trouble Shooting ~55%.
TASK_TYPES: tuple[str, ...] = (
    "Plan of Action", "Plan of Action", "Plan of Action",
    "Trouble Shooting", "Trouble Shooting", "Trouble Shooting",
    "Call", "Call", "Email", "Follow Up",
)
FEED_TYPES: tuple[str, ...] = ("TextPost", "TextPost", "TextPost", "TrackedChange", "LinkPost")

SUPPORT_MAILBOXES: tuple[str, ...] = (
    "support@hpe.com", "gsd-emea@hpe.com", "gsd-amer@hpe.com", "gsd-apj@hpe.com",
)

#: Folding table for building e-mail local parts from accented names.
ASCII_FOLD = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
    "é": "e", "è": "e", "ê": "e", "ë": "e", "É": "E", "È": "E", "à": "a",
    "â": "a", "î": "i", "ï": "i", "ô": "o", "ç": "c", "û": "u", "Î": "I",
    "'": "", " ": "",
})
