"""The people, texts and goals of the demo network. Invented, but spelled as in real files."""

# given, family, birth date, nationality, languages, gender, other spellings
PERSONS = [
    ("Mohammed", "Al-Hassan", "1988-03-14", "Syrien", ["Arabisch", "Deutsch"], "male",
     ["Muhammad Al Hasan", "Mohamad Alhassan"]),
    ("Rania", "Haddad", "1993-11-02", "Syrien", ["Arabisch", "Englisch"], "female", []),
    ("Omar", "Khalil", "2001-06-21", "Syrien", ["Arabisch", "Kurdisch"], "male", ["Umar Chalil"]),
    ("Layla", "Ibrahim", "1979-01", "Syrien", ["Arabisch"], "female", ["Laila Ibraheem"]),
    ("Ahmad", "Al-Khatib", "1985", "Syrien", ["Arabisch", "Türkisch"], "male", ["Ahmed Alkhatib"]),
    ("Oleksandr", "Kovalenko", "1975-08-30", "Ukraine", ["Ukrainisch", "Russisch"], "male",
     ["Aleksandr Kowalenko", "Alexander Kovalenko"]),
    ("Iryna", "Shevchenko", "1990-04-12", "Ukraine", ["Ukrainisch", "Englisch"], "female",
     ["Irina Schewtschenko"]),
    ("Olena", "Bondarenko", "1968-12-05", "Ukraine", ["Ukrainisch", "Russisch"], "female",
     ["Elena Bondarenko"]),
    ("Dmytro", "Melnyk", "2004-02-17", "Ukraine", ["Ukrainisch"], "male", ["Dmitri Melnik"]),
    ("Nataliia", "Tkachenko", "1983-07-23", "Ukraine", ["Ukrainisch", "Deutsch"], "female",
     ["Natalia Tkatschenko"]),
    ("Andrii", "Kravchenko", "1996-10-09", "Ukraine", ["Ukrainisch", "Polnisch"], "male",
     ["Andrij Krawtschenko"]),
    ("Ahmad Shah", "Rahimi", "1999-03-21", "Afghanistan", ["Dari", "Paschtu"], "male", []),
    ("Zahra", "Hosseini", "1987-09-15", "Afghanistan", ["Dari", "Farsi"], "female",
     ["Sahra Husseini"]),
    ("Mohammad Nabi", "Sultani", "1972", "Afghanistan", ["Paschtu", "Dari"], "male", []),
    ("Farida", "Ahmadi", "2002-12-30", "Afghanistan", ["Dari", "Englisch"], "female", []),
    ("Yonas", "Tesfay", "1995-01-01", "Eritrea", ["Tigrinya", "Amharisch"], "male",
     ["Yohannes Tesfai"]),
    ("Semhar", "Ghebremedhin", "1998-05-19", "Eritrea", ["Tigrinya", "Arabisch"], "female",
     ["Semhar Gebremedhin"]),
    ("Filmon", "Berhane", "2000-08", "Eritrea", ["Tigrinya"], "male", ["Filimon Berhe"]),
    ("Helen", "Tekle", "1991-02-28", "Eritrea", ["Tigrinya", "Englisch"], "female", []),
    ("Mehmet", "Yıldız", "1980-06-06", "Türkei", ["Türkisch", "Kurdisch"], "male",
     ["Mehmet Yildiz"]),
    ("Ayşe", "Demir", "1994-03-03", "Türkei", ["Türkisch", "Deutsch"], "female", ["Ayse Demir"]),
    ("Emre", "Çelik", "2003-11-11", "Türkei", ["Türkisch"], "male", ["Emre Celik"]),
    ("Andrei", "Popescu", "1986-09-27", "Rumänien", ["Rumänisch", "Italienisch"], "male", []),
    ("Ioana", "Constantin", "1997-04-08", "Rumänien", ["Rumänisch", "Englisch"], "female", []),
    ("Karwan", "Ahmed", "1989-12-12", "Irak", ["Kurdisch (Sorani)", "Arabisch"], "male",
     ["Karwan Ahmad"]),
    ("Shilan", "Mustafa", "1992-07-01", "Irak", ["Kurdisch (Kurmandschi)", "Arabisch"], "female",
     []),
    ("Ali", "Al-Jabouri", "1977-05-25", "Irak", ["Arabisch"], "male", ["Ali Aljaburi"]),
    ("Abdirahman", "Warsame", "1999-10-10", "Somalia", ["Somali", "Arabisch"], "male",
     ["Abdirahman Warsameh"]),
    ("Mariam", "Diallo", "1995-12-24", "Guinea", ["Französisch", "Fulfulde"], "female", []),
    ("Hassan", "Nouri", "1984-02-02", "Iran", ["Farsi", "Englisch"], "male", ["Hasan Nuri"]),
]  # fmt: skip

NOTES = [
    (
        "Erstberatung",
        "Erstgespräch im Büro mit Sprachmittlung ({language}).\n\n"
        "{given} ist seit {months} Monaten in Deutschland und wohnt derzeit in der"
        " Gemeinschaftsunterkunft. Wichtigste Anliegen: Sprachkurs, Anerkennung der"
        " Berufserfahrung, eigene Wohnung.\n\n"
        "Nächste Schritte: Anmeldung Integrationskurs klären, Unterlagen zur Schul- und"
        " Berufsausbildung mitbringen.",
        "Rückmeldung vom Integrationskursträger: Einstufungstest am {date} vereinbart.",
    ),
    (
        "Telefonat Ausländerbehörde",
        "Rückfrage zum Aufenthaltsstatus. Die Aufenthaltserlaubnis ist bis {date} befristet;"
        " Verlängerung rechtzeitig beantragen.",
        "Termin zur Verlängerung ist vereinbart. Unterlagen vollständig.",
    ),
    (
        "Gespräch Wohnungssuche",
        "{given} sucht eine 2-Zimmer-Wohnung in Rietberg oder Gütersloh. Wohnberechtigungsschein"
        " liegt vor. Kontakt zur Wohnungsbaugesellschaft hergestellt.",
        "Besichtigungstermin Bahnhofstraße. Mietübernahme durch das Jobcenter angefragt.",
    ),
]

ASSESSMENT = {
    "education": "Schulabschluss nach 12 Jahren; zwei Semester {subject} begonnen.",
    "work_experience": "{years} Jahre Berufserfahrung als {job}.",
    "residence_status": "Aufenthaltserlaubnis nach § 24 AufenthG",
    "housing": "Gemeinschaftsunterkunft Rietberg-Mastholte",
    "health": "Keine Einschränkungen bekannt.",
    "family": "Verheiratet, zwei Kinder (5 und 9 Jahre), Kinder besuchen Kita und Grundschule.",
    "goals_text": "Deutsch auf B1-Niveau, Arbeit im erlernten Beruf, eigene Wohnung.",
}
SUBJECTS = ["Maschinenbau", "Pädagogik", "Informatik", "Betriebswirtschaft", "Pharmazie"]
JOBS = ["Elektriker", "Krankenpflegerin", "Buchhalter", "Lehrerin", "Koch", "Lkw-Fahrer"]

GOALS = [
    ("sprache", "Deutschkenntnisse auf Niveau B1", "Integrationskurs beim VHS-Zweckverband"),
    ("arbeit", "Anerkennung des Berufsabschlusses", "Antrag bei der zuständigen Stelle, Beratung"
     " durch die IQ-Anlaufstelle"),
    ("wohnen", "Eigene Wohnung", "Wohnungssuche mit Unterstützung der Ehrenamtsinitiative"),
    ("bildung", "Kitaplatz für das jüngere Kind", "Anmeldung über das Kita-Portal des Kreises"),
]  # fmt: skip

# Days from today until a goal is due (negative: past), cycled over goals and cases.
GOAL_DUE_OFFSETS = [-75, 40, -12, 120, 200, -30, 18, 90]
# Goal statuses in monitoring, cycled: some done, some dropped, most still being worked on.
GOAL_PROGRESS = ["in_progress", "open", "done", "in_progress", "dropped", "open", "done"]

# Follow-ups (Wiedervorlagen): days from today until due, and what is to be done.
FOLLOWUP_OFFSETS = [-9, 0, 2, -2, 5, 0, 14, 1, 30, -1, 4, 45]
FOLLOWUPS = [
    "Rückruf wegen Termin beim Jobcenter",
    "Nachfragen, ob der Einstufungstest stattgefunden hat",
    "Unterlagen zur Berufsanerkennung vollständig? Fehlende Zeugnisse anfordern",
    "Verlängerung der Aufenthaltserlaubnis: Termin bei der Ausländerbehörde prüfen",
    "Wohnungsbesichtigung nachbesprechen",
    "Kita-Anmeldung: Rückmeldung des Kreises abwarten und nachhaken",
    "Fortschreibung der Integrationsvereinbarung vorbereiten",
    "Sprachkurswechsel besprechen (Abendkurs wegen Arbeit)",
]

CONSENT_PURPOSE = "Abstimmung der Hilfen im KIM-Netzwerk"
