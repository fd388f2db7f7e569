"""Hand-written support texts the generator never produces, with their labels.

``benchmarks/pii_eval.py`` scores the PII stage on these besides the
generator's corpus, so that rules tuned on generated text are also measured
on text they were not tuned on: other greetings and sign-offs, other phone,
card and IBAN formats, other countries' addresses, Outlook headers in other
languages, chat-style notes. Every value is fictitious.

Each case gives its free-text fields (``schemas.fields`` property names; child
fields as lists), its context lists as compose would build them, every
personal value in the text (``pii``: entity type, value exactly as written,
whether the context lists hold it in some variant) and the support tokens
that must survive (``keep``).

These cases were used to find gaps in the table rules (the rules were
adjusted after scoring them); ``pii_holdout_corpus.py`` holds the cases
written afterwards, the fairer test.
"""

from __future__ import annotations

__all__ = ["UNSEEN_CASES"]

UNSEEN_CASES: list[dict] = [
    {
        "id": "U001",
        "fields": {
            "subject": "Array offline after power event - SGH913XK2P",
            "description": "Good morning,\nour MSA 2060 (SGH913XK2P) went offline after a power event. "
            "Controller A shows error 0x0000A1F3.\nCheers,\nPieter van der Berg\nIT Operations, Zuidkust Logistiek B.V.\n"
            "T: +31 20 794 6612",
        },
        "context": {"context_names": ["Pieter van der Berg"], "context_phones": ["+31 20 794 6612"],
                    "context_companies": ["Zuidkust Logistiek B.V."]},
        "pii": [("PERSON", "Pieter van der Berg", True), ("ORGANIZATION", "Zuidkust Logistiek B.V.", True),
                ("PHONE_NUMBER", "+31 20 794 6612", True)],
        "keep": ["SGH913XK2P", "0x0000A1F3", "MSA 2060"],
    },
    {
        "id": "U002",
        "fields": {
            "email_bodies": [
                "Bonjour Mme Lefèvre,\n\nLa carte contrôleur P408i-a (836260-001) sera livrée demain.\n\n"
                "Cordialement,\nThomas Girard\nHPE Pointnext\n+33 1 70 36 41 52",
                "De : Lefèvre, Camille <camille.lefevre@groupe-ardoise.fr>\nEnvoyé : mardi 4 novembre 2025 09:12\n"
                "À : Girard, Thomas\nObjet : RE: Dossier 5001988412\n\nMerci, le site est au 18 rue des Tanneurs, 69002 Lyon.",
            ],
        },
        "context": {"context_names": ["Camille Lefèvre"], "context_emails": ["camille.lefevre@groupe-ardoise.fr"]},
        "pii": [("PERSON", "Lefèvre", True), ("PERSON", "Thomas Girard", False), ("PHONE_NUMBER", "+33 1 70 36 41 52", False),
                ("PERSON", "Lefèvre, Camille", True), ("EMAIL_ADDRESS", "camille.lefevre@groupe-ardoise.fr", True),
                ("PERSON", "Girard, Thomas", False), ("LOCATION", "18 rue des Tanneurs", False), ("LOCATION", "69002 Lyon", False)],
        "keep": ["836260-001", "P408i-a", "5001988412"],
    },
    {
        "id": "U003",
        "fields": {
            "comment_bodies": [
                "Called Mrs Okonkwo back, she confirmed the DIMM in slot 12 was reseated. IML event 1642 cleared.",
                "Chatted w/ Dmitri on Teams - he will pull the AHS tonight.",
                "Customer's cell is (646) 555-0192, desk 212-555-0147 x4410.",
            ],
        },
        "context": {"context_names": ["Adaeze Okonkwo"], "context_phones": ["646-555-0192"]},
        "pii": [("PERSON", "Okonkwo", True), ("PERSON", "Dmitri", False), ("PHONE_NUMBER", "(646) 555-0192", True),
                ("PHONE_NUMBER", "212-555-0147", False)],
        "keep": ["1642"],
    },
    {
        "id": "U004",
        "fields": {
            "feed_bodies": [
                "@Rafaela Souza parts arrived at dock 4, pls schedule.",
                "FE onsite: Kenji Watanabe. Replaced PSU 865414-B21, old SN 5WBXK0BLLBN1A9, new SN 5WBXK0CLLBP2C4.",
                "Tech Lars Eriksen left site 16:40, system green.",
            ],
            "workorder_descriptions": [
                "Site: Unit 7, Westgate Business Park, Leeds LS12 6NB. Contact on site Gareth Pryce 0113 496 0712.",
            ],
        },
        "context": {"context_names": ["Gareth Pryce"], "context_phones": ["+44 113 496 0712"],
                    "context_addresses": ["Unit 7, Westgate Business Park", "Leeds", "LS12 6NB"]},
        "pii": [("PERSON", "Rafaela Souza", False), ("PERSON", "Kenji Watanabe", False), ("PERSON", "Lars Eriksen", False),
                ("LOCATION", "Unit 7, Westgate Business Park", True), ("LOCATION", "Leeds", True), ("LOCATION", "LS12 6NB", True),
                ("PERSON", "Gareth Pryce", True), ("PHONE_NUMBER", "0113 496 0712", True)],
        "keep": ["865414-B21", "5WBXK0BLLBN1A9", "5WBXK0CLLBP2C4"],
    },
    {
        "id": "U005",
        "fields": {
            "description": "Please invoice the replacement to our card 3714 496353 98431 (Amex), "
            "exp 09/28. Backup card 5425-2334-3010-9903. Thanks, Ines",
            "close_comments": "Payment data removed from case per PCI policy.",
        },
        "context": {"context_names": ["Ines Duarte"]},
        "pii": [("CREDIT_CARD", "3714 496353 98431", False), ("CREDIT_CARD", "5425-2334-3010-9903", False),
                ("PERSON", "Ines", True)],
        "keep": [],
    },
    {
        "id": "U006",
        "fields": {
            "comment_bodies": [
                "Refund of the duplicate PO goes to NL91 ABNA 0417 1643 00, account holder Joost Mulder.",
                "Second refund: ES9121000418450200051332 (Banco), ref INV-88213.",
                "Italy office: IT60X0542811101000000123456.",
            ],
        },
        "context": {},
        "pii": [("IBAN_CODE", "NL91 ABNA 0417 1643 00", False), ("PERSON", "Joost Mulder", False),
                ("IBAN_CODE", "ES9121000418450200051332", False), ("IBAN_CODE", "IT60X0542811101000000123456", False)],
        "keep": [],
    },
    {
        "id": "U007",
        "fields": {
            "task_descriptions": [
                "Entitlement: caller read SSN 536-82-4417 to verify identity; told him not to. Contract 10482291.",
                "Second SSN on file 401-33-9021 belongs to the old admin.",
            ],
        },
        "context": {},
        "pii": [("US_SSN", "536-82-4417", False), ("US_SSN", "401-33-9021", False)],
        "keep": [],
    },
    {
        "id": "U008",
        "fields": {
            "email_bodies": [
                "Hey Priya -\n\nthe Synergy 480 Gen10 compute module in bay 6 still logs iLO_200_MemoryCorrectable.\n"
                "Can you ping me at priya.raman+hpe@northcoast-biolabs.com or WhatsApp +91 98450 12345?\n\n"
                "Thx\nSrinivas\n\n________________________________\nFrom: Priya Raman\nSent: Wednesday, 5 November 2025 14:02\n"
                "To: Srinivas Kulkarni; support@hpe.com\nSubject: Case 5002211093",
            ],
        },
        "context": {"context_names": ["Priya Raman"], "context_emails": ["priya.raman@northcoast-biolabs.com"]},
        "pii": [("PERSON", "Priya", True), ("EMAIL_ADDRESS", "priya.raman+hpe@northcoast-biolabs.com", False),
                ("PHONE_NUMBER", "+91 98450 12345", False), ("PERSON", "Srinivas", False), ("PERSON", "Priya Raman", True),
                ("PERSON", "Srinivas Kulkarni", False)],
        "keep": ["iLO_200_MemoryCorrectable", "5002211093", "Synergy 480 Gen10"],
    },
    {
        "id": "U009",
        "fields": {
            "workorder_onsite_actions": [
                "Engineer Mateus Oliveira swapped the fan module 875075-001 and updated SPP to 2025.01.00.00. "
                "Customer contact Helena Costa signed off.",
            ],
            "workorder_descriptions": ["Deliver to Av. da Liberdade 144, 1250-146 Lisboa."],
        },
        "context": {"context_names": ["Helena Costa"]},
        "pii": [("PERSON", "Mateus Oliveira", False), ("PERSON", "Helena Costa", True),
                ("LOCATION", "Av. da Liberdade 144, 1250-146 Lisboa", False)],
        "keep": ["875075-001", "2025.01.00.00"],
    },
    {
        "id": "U010",
        "fields": {
            "resolution_plain_text": "Replaced system board 875070-001. Firmware iLO 5 3.09 and System ROM U30 2.90 "
            "applied. KB a00123456en_us followed. Verified with customer Mr. Haddad.",
            "root_cause": "Failed voltage regulator on system board.",
        },
        "context": {"context_names": ["Karim Haddad"]},
        "pii": [("PERSON", "Haddad", True)],
        "keep": ["875070-001", "3.09", "2.90", "a00123456en_us"],
    },
    {
        "id": "U011",
        "fields": {
            "email_bodies": [
                "Dear Support Team,\n\nplease find attached the logs for host esx-prod-07 (10.42.8.17). "
                "Our on-call number is 0800 160 1234.\n\nWith kind regards\n\nDr. Annika Vogt\nKlinikum Nordheide gGmbH\n"
                "Abteilung IT-Infrastruktur\nTel. +49 4181 13-2270",
            ],
        },
        "context": {"context_names": ["Annika Vogt"], "context_companies": ["Klinikum Nordheide gGmbH"]},
        "pii": [("IP_ADDRESS", "10.42.8.17", False), ("PHONE_NUMBER", "0800 160 1234", False),
                ("PERSON", "Annika Vogt", True), ("ORGANIZATION", "Klinikum Nordheide gGmbH", True),
                ("PHONE_NUMBER", "+49 4181 13-2270", False)],
        "keep": [],
    },
    {
        "id": "U012",
        "fields": {
            "comment_bodies": [
                "VM from Sofia Marquez: 'call me back on 07700 900 123, only after 3pm'.",
                "Sofia's manager Tom Baxter approved the outage window (CHG0031177).",
            ],
        },
        "context": {"context_names": ["Sofia Marquez"]},
        "pii": [("PERSON", "Sofia Marquez", True), ("PHONE_NUMBER", "07700 900 123", False), ("PERSON", "Sofia", True),
                ("PERSON", "Tom Baxter", False)],
        "keep": ["CHG0031177"],
    },
    {
        "id": "U013",
        "fields": {
            "description": "Storage pool degraded on Alletra 6030 serial AF-293817. Admin login jdoe@corp.lan fails. "
            "Ticket opened by J. Doe (jane.doe@meridian-freight.com, +1-303-555-0114).",
        },
        "context": {"context_names": ["Jane Doe"], "context_emails": ["jane.doe@meridian-freight.com"],
                    "context_phones": ["303-555-0114"]},
        "pii": [("EMAIL_ADDRESS", "jdoe@corp.lan", False), ("PERSON", "J. Doe", True),
                ("EMAIL_ADDRESS", "jane.doe@meridian-freight.com", True), ("PHONE_NUMBER", "+1-303-555-0114", True)],
        "keep": ["AF-293817", "Alletra 6030"],
    },
    {
        "id": "U014",
        "fields": {
            "task_subjects": ["Callback to Mr Adeyemi re: RMA"],
            "task_descriptions": [
                "Spoke to Olumide Adeyemi, shipping label sent to 2200 Mission College Blvd, Santa Clara, CA 95054. "
                "RMA 4401187723 raised for drive 872479-B21.",
            ],
        },
        "context": {"context_names": ["Olumide Adeyemi"]},
        "pii": [("PERSON", "Adeyemi", True), ("PERSON", "Olumide Adeyemi", True),
                ("LOCATION", "2200 Mission College Blvd, Santa Clara, CA 95054", False)],
        "keep": ["872479-B21", "4401187723"],
    },
    {
        "id": "U015",
        "fields": {
            "email_bodies": [
                "Hallo Herr Brandt,\n\nder Techniker kommt am Donnerstag. Bitte Zugang zur Halle 3 bereithalten.\n\n"
                "Mit freundlichen Grüßen\nMonika Seidel\n\nAm 03.11.2025 um 08:15 schrieb Brandt, Felix <f.brandt@stahlwerk-ost.de>:\n"
                "> Die Fehlermeldung 'POST Error: 1785' erscheint wieder.",
            ],
        },
        "context": {"context_names": ["Felix Brandt"], "context_emails": ["f.brandt@stahlwerk-ost.de"]},
        "pii": [("PERSON", "Brandt", True), ("PERSON", "Monika Seidel", False), ("PERSON", "Brandt, Felix", True),
                ("EMAIL_ADDRESS", "f.brandt@stahlwerk-ost.de", True)],
        "keep": ["1785"],
    },
    {
        "id": "U016",
        "fields": {
            "comment_bodies": [
                "Customer uploaded AHS: 0x00000050 BSOD on Windows Server 2022; firmware U46 v2.30 recommended.",
                "No PII here, just serial CN7912P0DQ and part P06035-B21.",
            ],
        },
        "context": {"context_names": ["Marco Bellini"]},
        "pii": [],
        "keep": ["0x00000050", "2.30", "CN7912P0DQ", "P06035-B21"],
    },
    {
        "id": "U017",
        "fields": {
            "feed_bodies": [
                "cc @nadia.haddad @Li Wei - escalated to L3.",
                "Update from the partner: CE Oskar Lindqvist on site tomorrow 09:00, mobile +46 70 123 45 67.",
            ],
        },
        "context": {},
        "pii": [("PERSON", "nadia.haddad", False), ("PERSON", "Li Wei", False), ("PERSON", "Oskar Lindqvist", False),
                ("PHONE_NUMBER", "+46 70 123 45 67", False)],
        "keep": [],
    },
    {
        "id": "U018",
        "fields": {
            "description": "Hi,\nI'm Gwen from Pelican Bay Credit Union IT. Our SimpliVity 380 node "
            "(serial 2M2041089V) keeps rebooting. Reach me at gwen@pelicanbaycu.org. Regards, Gwen Tremblay",
        },
        "context": {"context_names": ["Gwen Tremblay"], "context_emails": ["gwen@pelicanbaycu.org"],
                    "context_companies": ["Pelican Bay Credit Union"]},
        "pii": [("PERSON", "Gwen", True), ("ORGANIZATION", "Pelican Bay Credit Union", True),
                ("EMAIL_ADDRESS", "gwen@pelicanbaycu.org", True), ("PERSON", "Gwen Tremblay", True)],
        "keep": ["2M2041089V", "SimpliVity 380"],
    },
    {
        "id": "U019",
        "fields": {
            "comment_bodies": [
                "Per Yusuf the maintenance window is Sat 22:00-02:00 UTC.",
                "Left msg for Ms. Kowalczyk at +48 22 555 01 87.",
                "as discussed with Aoife O'Sullivan, closing.",
            ],
        },
        "context": {"context_names": ["Yusuf Demir"]},
        "pii": [("PERSON", "Yusuf", True), ("PERSON", "Kowalczyk", False), ("PHONE_NUMBER", "+48 22 555 01 87", False),
                ("PERSON", "Aoife O'Sullivan", False)],
        "keep": [],
    },
    {
        "id": "U020",
        "fields": {
            "workorder_descriptions": [
                "Dispatch to 455 Collins Street, Melbourne VIC 3000. Site contact Bronwyn Hale, ph 03 9555 0199.",
            ],
            "workorder_closing_summaries": ["Closed, parts return via courier AWB 1Z88E4410398273345."],
        },
        "context": {"context_names": ["Bronwyn Hale"], "context_phones": ["+61 3 9555 0199"],
                    "context_addresses": ["455 Collins Street", "Melbourne", "VIC", "3000"]},
        "pii": [("LOCATION", "455 Collins Street", True), ("LOCATION", "Melbourne", True), ("LOCATION", "VIC", True),
                ("LOCATION", "3000", True), ("PERSON", "Bronwyn Hale", True), ("PHONE_NUMBER", "03 9555 0199", True)],
        "keep": [],
    },
    {
        "id": "U021",
        "fields": {
            "email_subjects": ["RE: [EXTERNAL] Case 5002210077 - ProLiant DL360 Gen11 fan failure"],
            "email_bodies": [
                "Kind regards,\nRavi\n\n-----Original Message-----\nFrom: Hendricks, Paul <paul.hendricks@hpe.com>\n"
                "Sent: Monday, November 3, 2025 4:15 PM\nTo: Ravi Menon <ravi.menon@tatva-infra.in>\n"
                "Cc: Deepa Nair <deepa.nair@tatva-infra.in>\nSubject: Case 5002210077\n\nFan 4 replaced with 879164-001.",
            ],
        },
        "context": {"context_names": ["Ravi Menon"], "context_emails": ["ravi.menon@tatva-infra.in"]},
        "pii": [("PERSON", "Ravi", True), ("PERSON", "Hendricks, Paul", False), ("EMAIL_ADDRESS", "paul.hendricks@hpe.com", False),
                ("PERSON", "Ravi Menon", True), ("EMAIL_ADDRESS", "ravi.menon@tatva-infra.in", True),
                ("PERSON", "Deepa Nair", False), ("EMAIL_ADDRESS", "deepa.nair@tatva-infra.in", False)],
        "keep": ["5002210077", "879164-001", "ProLiant DL360 Gen11"],
    },
    {
        "id": "U022",
        "fields": {
            "issue_plain_text": "Aruba 6300M switch reboots; crash log shows 'Watchdog timeout'. ArubaOS-CX 10.10.1040 running.",
            "gsd_environment_plain_text": "Core switch pair VSX, mgmt IP 172.16.40.2 / 172.16.40.3",
        },
        "context": {},
        "pii": [("IP_ADDRESS", "172.16.40.2", False), ("IP_ADDRESS", "172.16.40.3", False)],
        "keep": ["10.10.1040", "6300M"],
    },
    {
        "id": "U023",
        "fields": {
            "comment_bodies": [
                "Contact changed: new primary is Beatriz Fonseca (beatriz.fonseca@lumen-saude.pt, +351 21 555 0147).",
                "beatriz confirmed receipt of the replacement controller.",
            ],
        },
        "context": {"context_names": ["Beatriz Fonseca"], "context_emails": ["beatriz.fonseca@lumen-saude.pt"],
                    "context_phones": ["+351 21 555 0147"]},
        "pii": [("PERSON", "Beatriz Fonseca", True), ("EMAIL_ADDRESS", "beatriz.fonseca@lumen-saude.pt", True),
                ("PHONE_NUMBER", "+351 21 555 0147", True), ("PERSON", "beatriz", True)],
        "keep": [],
    },
    {
        "id": "U024",
        "fields": {
            "description": "Server name SRV-HOU-DB02 at our Houston DC. Tried calling 1-800-633-3600 but got no answer. "
            "Please email me: r.castillo@gulfstar-energy.com. Raul Castillo, Sr. Systems Engineer",
        },
        "context": {"context_names": ["Raul Castillo"], "context_emails": ["r.castillo@gulfstar-energy.com"]},
        "pii": [("PHONE_NUMBER", "1-800-633-3600", False), ("EMAIL_ADDRESS", "r.castillo@gulfstar-energy.com", True),
                ("PERSON", "Raul Castillo", True)],
        "keep": ["SRV-HOU-DB02"],
    },
    {
        "id": "U025",
        "fields": {
            "feed_bodies": [
                "Technician: Amara Diallo\nArrival 08:05, departure 11:30\nParts: 1x 870753-B21, 1x P19766-B21",
                "Signed by customer: K. Nakamura",
            ],
        },
        "context": {"context_names": ["Kaito Nakamura"]},
        "pii": [("PERSON", "Amara Diallo", False), ("PERSON", "K. Nakamura", True)],
        "keep": ["870753-B21", "P19766-B21"],
    },
    {
        "id": "U026",
        "fields": {
            "email_bodies": [
                "Hi all,\n\njust a heads-up that Zoltan Farkas will cover for me next week (zoltan.farkas@ventor-group.hu, "
                "+36 1 555 0199).\n\nBest,\nErika",
            ],
        },
        "context": {"context_names": ["Erika Szabo"]},
        "pii": [("PERSON", "Zoltan Farkas", False), ("EMAIL_ADDRESS", "zoltan.farkas@ventor-group.hu", False),
                ("PHONE_NUMBER", "+36 1 555 0199", False), ("PERSON", "Erika", True)],
        "keep": [],
    },
    {
        "id": "U027",
        "fields": {
            "comment_bodies": [
                "Customer mailbox: it-helpdesk@aurora-textiles.co.uk (shared).",
                "Escalation manager Fiona McAllister informed.",
                "MAC 3C:A8:2A:1F:09:7E of iLO port, POST code 296.",
            ],
        },
        "context": {},
        "pii": [("EMAIL_ADDRESS", "it-helpdesk@aurora-textiles.co.uk", False), ("PERSON", "Fiona McAllister", False)],
        "keep": ["296", "3C:A8:2A:1F:09:7E"],
    },
    {
        "id": "U028",
        "fields": {
            "description": "Order for Hôpital Saint-Roch: ship to 5 avenue des Tilleuls, 31000 Toulouse, attention "
            "of Dr Julien Marchand, tél 05 61 55 01 23.",
        },
        "context": {"context_names": ["Julien Marchand"], "context_phones": ["+33 5 61 55 01 23"]},
        "pii": [("LOCATION", "5 avenue des Tilleuls, 31000 Toulouse", False), ("PERSON", "Julien Marchand", True),
                ("PHONE_NUMBER", "05 61 55 01 23", True)],
        "keep": [],
    },
    {
        "id": "U029",
        "fields": {
            "comment_bodies": [
                "3PAR 8440 (serial 4UW0001234) controller node 1 replaced, part 809798-001. OS 3.3.1 MU5.",
                "Disk in cage 2 magazine 3 shows 'degraded'; HPE ref QR483A.",
            ],
        },
        "context": {"context_names": ["Noor Haddad"]},
        "pii": [],
        "keep": ["4UW0001234", "809798-001", "3.3.1", "QR483A", "3PAR 8440"],
    },
    {
        "id": "U030",
        "fields": {
            "email_bodies": [
                "Good afternoon Mr. Whitfield,\n\nThe replacement drive ships today.\n\nAll the best,\nSamantha O'Neill\n"
                "HPE Services\nsamantha.oneill@hpe.com | +1 (512) 555-0163",
            ],
        },
        "context": {"context_names": ["George Whitfield"]},
        "pii": [("PERSON", "Whitfield", True), ("PERSON", "Samantha O'Neill", False),
                ("EMAIL_ADDRESS", "samantha.oneill@hpe.com", False), ("PHONE_NUMBER", "+1 (512) 555-0163", False)],
        "keep": [],
    },
]

