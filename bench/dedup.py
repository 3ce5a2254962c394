"""Duplicate-person detection (issue 5): precision, recall and speed of portal.services.dedup.

A reproducible labelled set (random seed) of person pairs is generated from realistic
names of people from Syria, Iraq, Afghanistan, Eritrea, Ukraine, Turkey and Romania:

* **same person** pairs: a stored record and a new entry of the same person with
  spelling variants — passport transliterations, German phonetic spellings,
  al-/el- dropped, added or fused, hyphens, umlauts and other letters with
  diacritics spelled ü/ue/u, typos, swapped given/family names, the search by a
  stored other spelling (alias), day and month swapped, missing day or month,
  missing birth date, the 01.01. placeholder;
* **different person** pairs that look alike (near misses): relatives with the same
  family name (other year, or the same year), common given names like Mohammed with
  another family name, namesakes born in another year, similar but different given
  or family names (Hassan/Hussein, Kovalenko/Kovalchuk), twins with other names.

The matcher is run as a pure function on dicts; then a population of 10,000 stored
persons is searched (without and with the database) to measure speed and how many
wrong candidates a real search shows.

Run: .venv/bin/python bench/dedup.py [--pairs N] [--seed S] [--no-db]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from portal.services import dedup
from portal.services.dedup import names, prefilter, scoring

# ---------------------------------------------------------------- names
# "Name: variant, variant" — variants are spellings met in passports, residence
# permits and German files for the same name.

NAMES: dict[str, dict[str, str]] = {
    "Syrien": {
        "male": """
            Mohammed: Muhammad, Mohamad, Mohamed, Mohammad, Muhammed
            Ahmad: Ahmed, Achmed
            Mahmoud: Mahmud, Machmud
            Mustafa: Mostafa, Moustafa, Mustapha
            Khaled: Khalid, Chaled
            Omar: Umar, Omer
            Ali
            Hassan: Hasan
            Hussein: Husein, Hussain, Husain
            Youssef: Yousef, Yusuf, Joussef, Yosef
            Ibrahim: Ebrahim, Ibraheem
            Abdulrahman: Abdul Rahman, Abdelrahman, Abd al-Rahman, Abdul-Rahman
            Abdullah: Abdallah, Abdulla
            Walid: Waleed
            Saeed: Said, Saied
            Rami
            Bashar: Baschar
            Fadi
            Jamal: Dschamal, Djamal
            Tarek: Tareq, Tarik, Tariq
            Yasser: Yaser, Jasser
            Ammar: Amar
            Bilal
            Hamza: Hamzah
            Osama: Usama, Oussama
            Anas
            Zakaria: Zakariya, Sakaria
            Jamil: Jameel, Dschamil
            Hamid: Hameed, Hamed
        """,
        "female": """
            Fatima: Fatma, Fatmeh, Fatimah
            Aisha: Aischa, Ayesha, Aysha
            Zainab: Zeinab, Zaynab
            Mariam: Maryam, Mariyam
            Amina: Amena, Ameena
            Amira: Ameera
            Layla: Leila, Laila, Leyla
            Yasmin: Yasmine, Jasmin, Yasmeen
            Hiba: Heba
            Rasha: Rascha
            Rania: Ranya
            Rana
            Nour: Nur, Noor
            Huda: Houda, Hoda
            Lina: Leena
            Rahaf
            Hala
            Sara: Sarah
            Reem: Rim
            Asmaa: Asma
            Dima
        """,
        "family": """
            Al-Hassan: Al Hassan, Alhassan, Hassan, El-Hassan, Al-Hasan
            Al-Ahmad: Al Ahmad, Alahmad, Ahmad, Al-Ahmed
            Haddad: Hadad, Al-Haddad
            Al-Khatib: Al Khatib, Alkhatib, Khatib, El-Khatib
            Khalil: Chalil, Khaleel
            Darwish: Darwisch, Derwisch
            Al-Masri: El-Masri, Masri, Almasri, El Masry
            Mansour: Mansur
            Saleh: Salih
            Suleiman: Sulaiman, Suleyman
            Qassem: Kassem, Kasem, Qasim, Kassim
            Al-Najjar: Najjar, Al Najjar, Alnajjar
            Hamdan
            Othman: Osman, Uthman
            Yassin: Yasin, Jassin
            Al-Sheikh: Al Shaikh, Alsheikh, Al-Scheich
            Hammoud: Hamoud, Hamud, Hammud
            Jaber: Dschaber, Djaber, Jabir
            Al-Ali: Al Ali, Alali
            Hijazi: Hejazi, Hidschasi
            Sabbagh: Sabagh, Al-Sabbagh
            Al-Kurdi: Kurdi, Alkurdi
            Al-Halabi: Halabi, Alhalabi
            Nasser: Naser
            Al-Shami: Shami, Asch-Schami, Ash-Shami
            Zaher: Zahir
            Abdo: Abdou, Abdu
            Hamadeh: Hamade, Hamada
            Kanaan: Kanan, Canaan
        """,
    },
    "Irak": {
        "male": """
            Haider: Hayder, Haidar, Heider
            Ali
            Hussein: Husein, Hussain
            Mustafa: Mostafa
            Ahmed: Ahmad
            Karwan: Karvan
            Rebin: Rebeen
            Sherzad: Scherzad, Shirzad
            Ammar: Amar
            Zaid: Zeid, Zayd
            Abbas: Abas
            Salam
            Hamid: Hameed, Hamed
            Mohammed: Muhammad, Mohamed
            Kamal: Kemal
            Sami: Samy
            Hawre: Hawreh
        """,
        "female": """
            Zahraa: Zahra, Sahraa
            Noor: Nour, Nur
            Shahad: Schahad
            Ruqaya: Ruqayya, Rukaja, Roqaya
            Narin: Nareen
            Shilan: Schilan
            Dilan
            Hawraa: Haura
            Maryam: Mariam
            Sara: Sarah
            Tabarak
            Shirin: Schirin, Shireen
            Zina: Zeena
        """,
        "family": """
            Al-Jubouri: Al-Juburi, Aljubouri, Al Jbouri, Jubouri
            Al-Tamimi: Tamimi, Al Tamimi, At-Tamimi
            Al-Obaidi: Al-Ubaidi, Obaidi, Alobaidi
            Al-Dulaimi: Ad-Dulaimi, Dulaimi, Al-Dlaimi
            Al-Saadi: Al-Sa'adi, Saadi, Al Saadi
            Al-Shammari: Shammari, Al-Schammari, Ash-Shammari
            Al-Rubaie: Al-Rubaiee, Rubaie, Al-Rubai
            Kareem: Karim
            Abbas: Abas
            Jassim: Jasim, Jasem
            Barzani
            Hawrami: Hawramy
            Rashid: Raschid, Rasheed
            Mahmood: Mahmoud, Mahmud
            Khoshnaw: Choschnaw, Khoshnao
            Ismail: Ismael, Ismaeel
            Taha
            Hadi: Hady
        """,
    },
    "Afghanistan": {
        "male": """
            Mohammad: Mohammed, Muhammad, Mohamad
            Ahmad: Ahmed
            Alireza: Ali Reza, Ali-Reza
            Hamid: Hameed, Hamed
            Farid: Fareed
            Jawad: Javad, Dschawad
            Mahdi: Mehdi
            Masoud: Massoud, Masud, Masood
            Abdul Wahid: Abdulwahid, Abdul Wahed, Abdel Wahid
            Naweed: Navid, Nawid, Naveed
            Sayed: Sayyed, Seyed
            Rahmatullah: Rahmatulla, Rahmat Ullah
            Habibullah: Habibulla, Habib Ullah
            Zabihullah: Zabiullah
            Shafiq: Schafik, Shafik
            Idris: Edris, Idrees
            Murtaza: Mortaza, Murteza
            Omid: Umid, Omed
            Sohrab: Suhrab
            Karim: Kareem
        """,
        "female": """
            Fatima: Fatemeh, Fatema, Fatimah
            Zahra: Sahra, Zahraa
            Maryam: Mariam
            Nazanin: Nasanin
            Shabnam: Schabnam
            Parwana: Parvana
            Freshta: Fereshteh, Fereshta, Freschta
            Marzia: Marziyeh, Marsia
            Nargis: Narges
            Masooma: Masuma, Masoumeh
            Somaya: Sumaya, Somayeh
            Laila: Leila, Layla
            Mursal
            Hosai: Hosay
            Mahsa: Masa
        """,
        "family": """
            Rahimi: Rahimy, Rachimi
            Ahmadi: Ahmady, Achmadi
            Hosseini: Husseini, Hoseini, Hussaini
            Mohammadi: Muhammadi, Mohamadi, Mohammady
            Karimi: Karimy
            Sultani: Soltani, Sultany
            Noori: Nouri, Nuri
            Haidari: Heidari, Haydari
            Rezaei: Rezai, Rezaie, Rezayi
            Jafari: Djafari, Dschafari, Jaafari
            Azizi: Asisi, Azizy
            Stanekzai: Stanikzai, Stanakzai
            Popal
            Wardak: Wardag
            Safi
            Amiri: Amiry
            Nazari: Nasari, Nazary
            Qaderi: Kaderi, Qadiri
            Sharifi: Scharifi, Sharify
            Habibi: Habiby
            Yousufzai: Yusufzai, Yousafzai
            Sadat: Saadat
            Naseri: Nasseri, Nasiri
            Akbari: Akbary
            Hakimi: Hakimy
            Samadi: Samady
        """,
    },
    "Eritrea": {
        "male": """
            Yohannes: Yohanes, Johannes, Yohannis
            Tesfay: Tesfai, Tesfaye
            Ghebremedhin: Gebremedhin, Gebre Medhin, Ghebremedin
            Kidane: Kidana
            Mehari: Meharie, Mehary
            Berhane: Berhani, Birhane
            Tekle: Tekley
            Haile: Hayle
            Dawit: Dawitt
            Tsegay: Tsegai, Tsegaye
            Abraham: Abrham, Abreham
            Mussie: Musie
            Semere: Semre
            Filmon: Filimon
            Robel: Robiel
            Yonas: Jonas
            Eyob: Iyob
            Habtom: Habtum
            Merhawi: Merhawie
            Kiflom: Kiflu
            Okbay: Okbai
            Tewelde: Tewolde
            Amanuel: Emanuel, Amaniel
            Biniam: Binyam, Beniam
            Efrem: Ephrem
            Goitom: Goytom
        """,
        "female": """
            Selam: Salam
            Senait: Senayt
            Helen: Hellen
            Luwam: Lwam, Luam
            Saba
            Winta: Wenta
            Yordanos: Yordanus, Jordanos
            Freweyni: Freweini
            Rahel
            Selamawit: Salamawit
            Tsega: Tsegga
            Mebrat: Mebrhat
            Aster
            Hiwet: Hiwot
            Almaz: Almas
            Elsa
            Milen: Millen
            Feven: Fiven
            Delina
        """,
        "family": """
            Tesfay: Tesfai, Tesfaye
            Ghebreyesus: Gebreyesus, Gebre Yesus, Ghebre Iyesus
            Weldemariam: Woldemariam, Welde Mariam, Weldemaryam
            Tekle: Tekley
            Haile: Hayle
            Kidane: Kidana
            Berhe: Berhie
            Mehari: Meharie
            Tesfamariam: Tesfa Mariam, Tesfamaryam
            Ghebremichael: Gebremichael, Gebre Michael, Gebremikael
            Habte: Habtie
            Asfaha: Asfeha
            Tsegay: Tsegai
            Negash: Negasch
            Yemane: Yemani, Jemane
            Andemariam: Ande Mariam
            Kahsay: Kahsai
            Okbamichael: Okba Michael
            Zerai: Zeray
            Abraha: Abreha
            Hagos: Haggos
            Ghebrehiwet: Gebrehiwet, Gebre Hiwet
            Woldu: Weldu
            Fessehaye: Fesehaye, Fessahaye
            Mebrahtu: Mebrahtom
            Teklemariam: Tekle Mariam
            Russom: Rusom
        """,
    },
    "Ukraine": {
        "male": """
            Oleksandr: Aleksandr, Alexander, Olexandr, Oleksander
            Volodymyr: Vladimir, Wolodymyr, Wladimir
            Mykola: Nikolai, Mikola
            Serhiy: Serhii, Sergey, Sergei, Serhij
            Andriy: Andrii, Andrey, Andrej, Andrij
            Oleksiy: Oleksii, Aleksei, Olexij
            Dmytro: Dmitri, Dmitrij
            Yuriy: Yurii, Yuri, Jurij
            Ihor: Igor
            Oleh: Oleg
            Vasyl: Vasily, Wassyl
            Mykhailo: Mychajlo, Mikhail, Mykhaylo
            Bohdan: Bogdan
            Maksym: Maxim, Maksim, Maxym
            Artem: Artyom, Artjom
            Denys: Denis
            Taras
            Roman
            Viktor: Victor, Wiktor
            Petro: Pyotr
            Yevhen: Evgeny, Jewhen, Yevgeniy
            Vitaliy: Vitalii, Witalij
            Ivan: Iwan
            Pavlo: Pawlo
        """,
        "female": """
            Olena: Elena, Jelena
            Tetiana: Tatiana, Tatjana, Tetyana
            Iryna: Irina
            Nataliia: Natalia, Natalija, Nataliya
            Kateryna: Ekaterina, Katerina
            Oksana: Oxana
            Yuliia: Yulia, Julija, Yuliya
            Anna: Hanna
            Viktoriia: Viktoria, Wiktorija, Viktoriya
            Mariia: Maria, Marija, Mariya
            Svitlana: Svetlana, Switlana
            Liudmyla: Lyudmila, Ljudmyla
            Halyna: Galina
            Olha: Olga
            Alina
            Daria: Darya, Darja, Dariia
            Sofiia: Sofia, Sofija
            Valentyna: Valentina, Walentyna
            Inna
            Larysa: Larisa, Larissa
        """,
        "family": """
            Kovalenko: Kowalenko
            Shevchenko: Schewtschenko, Ševčenko
            Bondarenko
            Tkachenko: Tkatschenko
            Kravchenko: Krawtschenko
            Melnyk: Melnik, Mel'nyk
            Boyko: Boiko, Bojko
            Kovalchuk: Kowaltschuk
            Oliynyk: Olijnyk, Oliinyk
            Shevchuk: Schewtschuk
            Polishchuk: Polischtschuk
            Tkachuk: Tkatschuk
            Savchenko: Sawtschenko
            Rudenko
            Marchenko: Martschenko
            Lysenko: Lissenko, Lisenko
            Moroz: Moros
            Petrenko
            Kuzmenko: Kusmenko
            Pavlenko: Pawlenko
            Zhuk: Schuk, Žuk
            Yakovenko: Jakowenko, Iakovenko
            Klymenko: Klimenko
            Hrytsenko: Hryzenko
            Kharchenko: Chartschenko
            Sydorenko: Sidorenko
            Ponomarenko
            Tymoshenko: Tymoschenko
            Kozak: Kosak
            Vasylenko: Wassylenko
            Lytvynenko: Litwinenko
        """,
    },
    "Türkei": {
        "male": """
            Mehmet: Mehmed
            Mustafa
            Ahmet
            Ali
            Hüseyin: Huseyin, Hueseyin
            Hasan
            İbrahim: Ibrahim
            Murat: Murad
            Emre
            Yusuf: Jusuf
            Ömer: Omer, Oemer
            Osman
            Halil
            Süleyman: Suleyman, Sueleyman
            Recep: Redschep
            Burak
            Serkan
            Cem
            Kemal
            Oğuz: Oguz
            Mahmut
        """,
        "female": """
            Fatma
            Ayşe: Ayse, Aysche
            Emine
            Emel
            Hatice: Hatidsche
            Zeynep: Zeinep
            Elif
            Özlem: Oezlem, Ozlem
            Meryem: Meriem
            Şerife: Serife
            Sultan
            Hülya: Hulya, Huelya
            Esra
            Büşra: Busra, Buesra
            Derya: Deria
            Songül: Songul, Songuel
            Dilek
        """,
        "family": """
            Yılmaz: Yilmaz, Jilmaz
            Kaya: Kaja
            Kara
            Demir
            Şahin: Sahin, Schahin
            Çelik: Celik, Tschelik
            Yıldız: Yildiz
            Yıldırım: Yildirim
            Öztürk: Ozturk, Oeztuerk
            Aydın: Aydin
            Özdemir: Ozdemir, Oezdemir
            Arslan
            Doğan: Dogan
            Kılıç: Kilic
            Çetin: Cetin
            Koç: Koc
            Kurt
            Özkan: Ozkan, Oezkan
            Şimşek: Simsek
            Erdoğan: Erdogan
            Polat
            Güler: Guler, Gueler
            Yavuz
            Bulut
            Aksoy
            Tekin
            Korkmaz
            Acar
        """,
    },
    "Rumänien": {
        "male": """
            Ion: Ioan
            Andrei: Andrej
            Mihai: Mihail
            Gheorghe: Gheorge
            Constantin: Costantin, Konstantin
            Alexandru: Aleksandru
            Florin
            Vasile
            Ionuț: Ionut
            Cristian: Christian, Kristian
            Adrian
            Marian
            Nicolae: Nicolai
            Ștefan: Stefan
            Dumitru
            Gabriel
            Daniel
            Cătălin: Catalin
            Bogdan
            Sorin
        """,
        "female": """
            Maria
            Elena
            Ioana
            Ana: Anna
            Mihaela: Michaela
            Gabriela
            Andreea: Andrea
            Alexandra: Aleksandra
            Cristina: Christina, Kristina
            Daniela
            Florentina
            Nicoleta: Nicoletta
            Ramona
            Alina
            Simona
            Mariana
            Larisa: Larissa
            Roxana: Roksana
        """,
        "family": """
            Popescu: Popesku
            Ionescu: Ionesku
            Ioniță: Ionita
            Popa
            Pop
            Dumitru
            Stan
            Stoica: Stoika
            Gheorghe
            Matei: Matej
            Constantin
            Rusu
            Munteanu
            Lungu
            Ciobanu: Tschobanu
            Moldovan: Moldowan
            Șerban: Serban
            Dinu
            Țăranu: Taranu
            Florea
            Nistor
            Dragomir
            Marin
            Tudor
            Zamfir
            Lazăr: Lazar
            Sandu
            Bălan: Balan
            Ursu
            Oprea
        """,
    },
}
COUNTRY_WEIGHTS = {
    "Syrien": 0.26, "Ukraine": 0.24, "Afghanistan": 0.16, "Irak": 0.1,
    "Türkei": 0.1, "Eritrea": 0.07, "Rumänien": 0.07,
}  # fmt: skip
ARABIC = {"Syrien", "Irak", "Afghanistan"}
COMMON_GIVEN = {
    "Mohammed", "Mohammad", "Ahmad", "Ahmed", "Ali", "Mustafa", "Hussein", "Fatima",
    "Maryam", "Olena", "Oleksandr", "Mehmet", "Yohannes", "Maria", "Ion", "Zahra",
}  # fmt: skip
# Different names that look alike: never the same person by name alone.
SIMILAR_GIVEN = [
    ("Hassan", "Hussein"), ("Jamil", "Jamal"), ("Amina", "Amira"), ("Rania", "Rana"),
    ("Ahmad", "Mahmoud"), ("Mohammed", "Mahmoud"), ("Hamid", "Hamza"), ("Sami", "Salam"),
    ("Olena", "Olha"), ("Oleksandr", "Oleksiy"), ("Mykola", "Mykhailo"), ("Andriy", "Artem"),
    ("Ivan", "Iryna"), ("Kidane", "Kiflom"), ("Mehari", "Merhawi"), ("Semere", "Selam"),
    ("Tsegay", "Tsega"), ("Mehmet", "Mahmut"), ("Emine", "Emel"), ("Ion", "Ioana"),
    ("Mihai", "Mihaela"), ("Daniel", "Daniela"), ("Cristian", "Cristina"),
    ("Gabriel", "Gabriela"), ("Marian", "Mariana"), ("Alexandru", "Alexandra"),
    ("Zahra", "Zainab"), ("Mariam", "Amira"), ("Nazanin", "Nargis"), ("Luwam", "Lina"),
    ("Yasser", "Yasmin"), ("Farid", "Fadi"), ("Omar", "Ammar"), ("Saba", "Sara"),
]  # fmt: skip
SIMILAR_FAMILY = [
    ("Rahimi", "Karimi"), ("Hakimi", "Rahimi"), ("Kovalenko", "Kovalchuk"),
    ("Shevchenko", "Shevchuk"), ("Tkachenko", "Tkachuk"), ("Savchenko", "Kravchenko"),
    ("Lysenko", "Lytvynenko"), ("Popescu", "Popa"), ("Ionescu", "Ioniță"),
    ("Yıldız", "Yıldırım"), ("Özdemir", "Demir"), ("Kaya", "Kara"), ("Haddad", "Hamdan"),
    ("Tesfay", "Tesfamariam"), ("Weldemariam", "Teklemariam"), ("Ghebremichael", "Okbamichael"),
    ("Ghebreyesus", "Ghebrehiwet"), ("Al-Tamimi", "Al-Obaidi"), ("Ahmadi", "Mohammadi"),
    ("Hamdan", "Hammoud"), ("Mansour", "Nasser"), ("Al-Ali", "Al-Halabi"),
    ("Petrenko", "Pavlenko"), ("Klymenko", "Kuzmenko"), ("Sharifi", "Safi"),
    ("Naseri", "Nazari"), ("Amiri", "Akbari"), ("Stan", "Stoica"), ("Rusu", "Ursu"),
    ("Kahsay", "Tsegay"), ("Haile", "Habte"), ("Sydorenko", "Rudenko"),
]  # fmt: skip

# German phonetic spellings of English-style transliterations, per country.
RESPELL = {
    "arabic": [("sh", "sch"), ("kh", "ch"), ("j", "dsch"), ("y", "j"), ("ou", "u"),
               ("ee", "i"), ("z", "s"), ("w", "w")],
    "ukrainian": [("shch", "schtsch"), ("sh", "sch"), ("ch", "tsch"), ("zh", "sch"),
                  ("kh", "ch"), ("ts", "z"), ("v", "w"), ("y", "j")],
    "eritrean": [("y", "j"), ("sh", "sch"), ("w", "w"), ("ie", "i")],
    "turkish": [("ş", "sch"), ("ç", "tsch"), ("c", "dsch"), ("y", "j"), ("z", "s"),
                ("ğ", "")],
    "romanian": [("ș", "sch"), ("ț", "z"), ("ce", "tsche"), ("ci", "tschi"), ("ă", "e")],
}  # fmt: skip
RESPELL_OF = {"Syrien": "arabic", "Irak": "arabic", "Afghanistan": "arabic",
              "Eritrea": "eritrean", "Ukraine": "ukrainian", "Türkei": "turkish",
              "Rumänien": "romanian"}  # fmt: skip
QWERTZ = ["qwertzuiopü", "asdfghjklöä", "yxcvbnm"]


def _parse(block: str) -> dict[str, list[str]]:
    names = {}
    for line in block.strip().splitlines():
        name, _, variants = line.strip().partition(":")
        names[name.strip()] = [v.strip() for v in variants.split(",") if v.strip()]
    return names


POOLS = {
    country: {kind: _parse(block) for kind, block in kinds.items()}
    for country, kinds in NAMES.items()
}


# ---------------------------------------------------------------- records


@dataclass
class Record:
    given_name: str
    family_name: str
    birth_year: int | None
    birth_month: int | None
    birth_day: int | None
    gender: str  # as entered: "unspecified" now and then
    country: str
    sex: str  # the pool the given name comes from
    aliases: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "aliases": self.aliases,
            "birth_year": self.birth_year,
            "birth_month": self.birth_month,
            "birth_day": self.birth_day,
            "gender": self.gender,
        }

    def copy(self, **changes) -> Record:
        values = {**self.__dict__, "aliases": list(self.aliases), **changes}
        return Record(**values)


def random_date(rng: random.Random, year: int | None = None) -> tuple:
    year = year or rng.randint(1950, 2009)
    roll = rng.random()
    if roll < 0.05:
        return (None, None, None)
    if roll < 0.10:
        return (year, None, None)
    if roll < 0.13:
        return (year, rng.randint(1, 12), None)
    if roll < 0.20:
        return (year, 1, 1)  # the placeholder many files carry
    month = rng.randint(1, 12)
    return (year, month, rng.randint(1, 28))


def random_person(rng: random.Random, country: str | None = None) -> Record:
    country = country or rng.choices(list(COUNTRY_WEIGHTS), list(COUNTRY_WEIGHTS.values()))[0]
    gender = rng.choice(("male", "female"))
    given = rng.choice(list(POOLS[country][gender]))
    family = rng.choice(list(POOLS[country]["family"]))
    reported = gender if rng.random() < 0.8 else "unspecified"
    return Record(given, family, *random_date(rng), reported, country, gender)


# ---------------------------------------------------------------- spelling variants


def variant_of(rng: random.Random, name: str, country: str, kind: str) -> str:
    """Another spelling of ``name`` from the variant lists, else a German spelling."""
    for pool in POOLS[country].values() if kind == "any" else [POOLS[country][kind]]:
        for canonical, variants in pool.items():
            forms = [canonical, *variants]
            if name in forms and len(forms) > 1:
                return rng.choice([f for f in forms if f != name])
    return respell(rng, name, country)


def respell(rng: random.Random, name: str, country: str) -> str:
    rules = RESPELL[RESPELL_OF[country]]
    lower = name.lower()
    applicable = [(a, b) for a, b in rules if a in lower and a != b]
    if not applicable:
        return name
    for a, b in rng.sample(applicable, k=min(len(applicable), rng.randint(1, 2))):
        lower = lower.replace(a, b)
    return " ".join(w[:1].upper() + w[1:] for w in lower.split(" "))


def strip_diacritics(rng: random.Random, name: str) -> str:
    if name.isascii():
        return name
    spelled_out = {"ü": "ue", "ö": "oe", "ä": "ae", "Ü": "Ue", "Ö": "Oe", "ş": "sch",
                   "ç": "tsch", "ı": "i", "İ": "I", "ğ": ""}  # fmt: skip
    if rng.random() < 0.4:
        name = "".join(spelled_out.get(c, c) for c in name)
    name = name.replace("ı", "i").replace("İ", "I")
    folded = unicodedata.normalize("NFKD", name)
    return "".join(c for c in folded if not unicodedata.combining(c))


def article(rng: random.Random, family: str, country: str) -> str:
    """al-/el- dropped, fused, spaced, or added."""
    lower = family.lower()
    for prefix in ("al-", "el-", "al ", "el ", "at-", "ad-", "ash-", "asch-"):
        if lower.startswith(prefix):
            rest = family[len(prefix) :]
            return rng.choice([rest, f"Al {rest}", f"Al{rest.lower()}", f"El-{rest}",
                               f"al-{rest}"])  # fmt: skip
    if country in ARABIC and " " not in family:
        return rng.choice([f"Al-{family}", f"Al {family}", f"El-{family}"])
    return family


def hyphenate(rng: random.Random, name: str) -> str:
    if " " in name:
        return rng.choice([name.replace(" ", "-"), name.replace(" ", "")])
    if "-" in name:
        return rng.choice([name.replace("-", " "), name.replace("-", "")])
    return name


def typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    i = rng.randint(1, len(name) - 2)  # first letters are rarely mistyped
    kind = rng.choice(("delete", "double", "neighbour", "transpose"))
    if kind == "delete":
        return name[:i] + name[i + 1 :]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    if kind == "transpose":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    char = name[i].lower()
    for row in QWERTZ:
        j = row.find(char)
        if j >= 0:
            options = [row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)]
            return name[:i] + rng.choice(options) + name[i + 1 :]
    return name[:i] + name[i + 1 :]


def shift_date(rng: random.Random, record: Record, how: str) -> Record:
    y, m, d = record.birth_year, record.birth_month, record.birth_day
    if how == "swap" and d and m and d <= 12 and d != m:
        return record.copy(birth_month=d, birth_day=m)
    if how == "no_day" and d:
        return record.copy(birth_day=None)
    if how == "year_only" and m:
        return record.copy(birth_month=None, birth_day=None)
    if how == "missing" and y:
        return record.copy(birth_year=None, birth_month=None, birth_day=None)
    if how == "placeholder" and y and (m, d) != (1, 1):
        return record.copy(birth_month=1, birth_day=1)
    return record


NAME_CHANGES = {
    "transliteration": 0.30,
    "german spelling": 0.12,
    "article al-/el-": 0.10,
    "hyphen/space": 0.06,
    "diacritics": 0.06,
    "typo": 0.16,
    "swapped names": 0.07,
    "alias": 0.05,
    "upper/lower case": 0.04,
    "extra name": 0.04,
}
DATE_CHANGES = {"none": 0.55, "swap": 0.15, "no_day": 0.08, "year_only": 0.08,
                "missing": 0.07, "placeholder": 0.07}  # fmt: skip


def same_person(rng: random.Random, original: Record) -> tuple[Record, Record, list[str]]:
    """(stored, new entry, what changed) for one person entered twice."""
    stored, new = original.copy(), original.copy()
    changes = rng.choices(
        list(NAME_CHANGES), list(NAME_CHANGES.values()), k=rng.choice((1, 1, 2, 2, 3))
    )
    applied = []
    for change in dict.fromkeys(changes):
        before = (new.given_name, new.family_name, len(stored.aliases))
        part = rng.choice(("given_name", "family_name"))
        kind = "family" if part == "family_name" else original.sex
        value = getattr(new, part)
        if change == "transliteration":
            setattr(new, part, variant_of(rng, value, new.country, kind))
        elif change == "german spelling":
            setattr(new, part, respell(rng, value, new.country))
        elif change == "article al-/el-":
            new.family_name = article(rng, new.family_name, new.country)
        elif change == "hyphen/space":
            setattr(new, part, hyphenate(rng, value))
        elif change == "diacritics":
            new.given_name = strip_diacritics(rng, new.given_name)
            new.family_name = strip_diacritics(rng, new.family_name)
        elif change == "typo":
            setattr(new, part, typo(rng, value))
        elif change == "swapped names":
            new.given_name, new.family_name = new.family_name, new.given_name
        elif change == "alias":
            # stored with another family name too (maiden name, grandfather's name,
            # the name in an older document); the new entry uses that one
            other = rng.choice([f for f in POOLS[new.country]["family"] if f != stored.family_name])
            stored.aliases.append(f"{stored.given_name} {other}")
            new.family_name = other
        elif change == "upper/lower case":
            new.given_name, new.family_name = new.given_name.upper(), new.family_name.lower()
        elif change == "extra name":
            # the father's name added as a second given name (name chains)
            father = rng.choice(list(POOLS[new.country]["male"]))
            new.given_name = f"{new.given_name} {father}"
        if (new.given_name, new.family_name, len(stored.aliases)) != before:
            applied.append(change)
    date_change = rng.choices(list(DATE_CHANGES), list(DATE_CHANGES.values()))[0]
    shifted = shift_date(rng, new, date_change)
    if shifted is not new and date_change != "none":
        if rng.random() < 0.5 or date_change == "swap":
            new = shifted
        else:  # the stored record is the incomplete one
            stored = shift_date(rng, stored, date_change)
        applied.append(f"date: {date_change}")
    if not applied:
        new.family_name = typo(rng, new.family_name)
        applied.append("typo")
    return stored, new, applied


def other_year(rng: random.Random, record: Record, spread: int = 15) -> Record:
    year = record.birth_year or rng.randint(1960, 2000)
    shift = rng.choice([s for s in range(-spread, spread + 1) if s])
    return record.copy(
        birth_year=year + shift, birth_month=rng.randint(1, 12), birth_day=rng.randint(1, 28)
    )


def same_year_other_day(rng: random.Random, record: Record) -> Record:
    year = record.birth_year or rng.randint(1960, 2000)
    while True:
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        taken = {(record.birth_month, record.birth_day), (record.birth_day, record.birth_month)}
        if (month, day) not in taken | {(1, 1)}:
            return record.copy(birth_year=year, birth_month=month, birth_day=day)


def other_given(rng: random.Random, record: Record, gender: str | None = None) -> str:
    pool = POOLS[record.country][gender or rng.choice(("male", "female"))]
    forms = {record.given_name, *pool.get(record.given_name, [])}
    choices = [g for g in pool if g not in forms]
    return rng.choice(choices)


NEAR_MISSES = {
    "relative, other year": 0.18,
    "relative, same year": 0.10,
    "twin, other name": 0.05,
    "common given name, other family": 0.15,
    "namesake, other year": 0.14,
    "similar given name": 0.14,
    "similar family name": 0.14,
    "unrelated, same country": 0.10,
}


def different_person(rng: random.Random, base: Record) -> tuple[Record, Record, str]:
    """(stored, new entry, kind) for two different persons who look alike."""
    kind = rng.choices(list(NEAR_MISSES), list(NEAR_MISSES.values()))[0]
    stored = base.copy()
    if stored.birth_year is None and kind != "common given name, other family":
        # otherwise nothing but the name could tell them apart: not a fair near miss
        stored = stored.copy(birth_year=rng.randint(1950, 2009), birth_month=rng.randint(1, 12),
                             birth_day=rng.randint(1, 28))  # fmt: skip
    if kind == "relative, other year":
        gender = rng.choice(("male", "female"))
        new = other_year(rng, stored).copy(
            given_name=other_given(rng, stored, gender), gender=gender, sex=gender
        )
        if rng.random() < 0.3:
            new.family_name = variant_of(rng, new.family_name, new.country, "family")
    elif kind == "relative, same year":
        gender = rng.choice(("male", "female"))
        new = same_year_other_day(rng, stored).copy(
            given_name=other_given(rng, stored, gender), gender=gender, sex=gender
        )
    elif kind == "twin, other name":
        gender = rng.choice(("male", "female"))
        new = stored.copy(given_name=other_given(rng, stored, gender), gender=gender, sex=gender)
    elif kind == "common given name, other family":
        common = [g for g in POOLS[stored.country]["male"] if g in COMMON_GIVEN] + [
            g for g in POOLS[stored.country]["female"] if g in COMMON_GIVEN
        ]
        given = rng.choice(common) if common else stored.given_name
        families = [f for f in POOLS[stored.country]["family"] if f != stored.family_name]
        stored = with_given(rng, stored, given)
        new = stored.copy(family_name=rng.choice(families))
        if rng.random() < 0.5:
            new = same_year_other_day(rng, new)
        if rng.random() < 0.3:
            new.given_name = variant_of(rng, given, new.country, "any")
    elif kind == "namesake, other year":
        new = other_year(rng, stored, spread=20)
        if rng.random() < 0.4:
            new.given_name = variant_of(rng, new.given_name, new.country, "any")
    elif kind == "similar given name":
        a, b = rng.choice(SIMILAR_GIVEN)
        stored = with_given(rng, stored, a)
        new = with_given(rng, stored, b)
        roll = rng.random()
        if roll < 0.5:
            new = other_year(rng, new, spread=5)
        elif roll < 0.8:
            new = same_year_other_day(rng, new)
        else:
            new = new.copy(birth_year=None, birth_month=None, birth_day=None)
    elif kind == "similar family name":
        a, b = rng.choice(SIMILAR_FAMILY)
        stored = stored.copy(family_name=a)
        new = stored.copy(family_name=b)
        roll = rng.random()
        if roll < 0.4:
            new = other_year(rng, new, spread=5)
        elif roll < 0.7:
            new = same_year_other_day(rng, new)
        elif roll < 0.85:
            new = new.copy(birth_year=None, birth_month=None, birth_day=None)
        if rng.random() < 0.5:
            new.given_name = other_given(rng, new)
    else:
        new = random_person(rng, stored.country)
        while new.given_name == stored.given_name and new.family_name == stored.family_name:
            new = random_person(rng, stored.country)
        if rng.random() < 0.5:
            new = new.copy(birth_year=stored.birth_year)
    return stored, new, kind


def sex_of(given: str) -> str | None:
    for kinds in POOLS.values():
        for sex in ("male", "female"):
            if any(given == name or given in variants for name, variants in kinds[sex].items()):
                return sex
    return None


def with_given(rng: random.Random, record: Record, given: str) -> Record:
    """``record`` with another given name, and the gender that goes with it."""
    sex = sex_of(given) or record.sex
    return record.copy(
        given_name=given, sex=sex, gender=sex if rng.random() < 0.8 else "unspecified"
    )


@dataclass
class Pair:
    stored: Record
    new: Record
    same: bool
    kind: list[str]
    score: float = 0.0


def labelled_pairs(rng: random.Random, count: int) -> list[Pair]:
    pairs = []
    for i in range(count):
        base = random_person(rng)
        if i % 2 == 0:
            stored, new, changes = same_person(rng, base)
            pairs.append(Pair(stored, new, True, changes))
        else:
            stored, new, kind = different_person(rng, base)
            pairs.append(Pair(stored, new, False, [kind]))
    return pairs


# ---------------------------------------------------------------- evaluation


def precision_recall(pairs: list[Pair], threshold: float) -> tuple[float, float, int, int, int]:
    tp = sum(p.same and p.score >= threshold for p in pairs)
    fp = sum(not p.same and p.score >= threshold for p in pairs)
    fn = sum(p.same and p.score < threshold for p in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def describe(record: Record) -> str:
    parts = (record.birth_year, record.birth_month, record.birth_day)
    date = "-".join(f"{v:02d}" for v in parts if v)
    alias = f" aka {record.aliases}" if record.aliases else ""
    return (
        f"{record.given_name} | {record.family_name}{alias} ({date or 'no date'}, {record.gender})"
    )


def clear_caches() -> None:
    cached = (names.name_part, scoring._profile, names._spelling, scoring._Name.of,
              scoring._Name.unstructured, names._tokens, prefilter._block_keys)  # fmt: skip
    for function in cached:  # fmt: skip
        function.cache_clear()


def population(rng: random.Random, size: int, seeded: list[Record]) -> list[dict]:
    people = [r.as_dict() for r in seeded]
    while len(people) < size:
        people.append(random_person(rng).as_dict())
    for i, person in enumerate(people):
        person["id"] = i + 1
    return people


def diversify(rng: random.Random, people: list[dict]) -> list[dict]:
    """The population with most names made unique (typos, a second family name), so that
    the caches start as cold as with real, more varied names."""
    families = [f for kinds in POOLS.values() for f in kinds["family"]]
    for person in people:
        roll = rng.random()
        if roll < 0.45:
            person["family_name"] = typo(rng, typo(rng, person["family_name"]))
        elif roll < 0.8:
            person["family_name"] = f"{person['family_name']}-{rng.choice(families)}"
        if rng.random() < 0.4:
            person["given_name"] = typo(rng, person["given_name"])
    return people


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def search_scenario(rng: random.Random, pairs: list[Pair], size: int) -> dict:
    """Store ``size`` persons (the stored side of every pair among them), search each new entry."""
    stored = [p.stored for p in pairs]
    people = population(rng, size, stored)
    queries = [(p.new.as_dict(), i + 1 if p.same else None) for i, p in enumerate(pairs)]
    found = missed = shown = wrong = queries_with_wrong = disagreements = 0
    clear_caches()
    start = time.perf_counter()
    dedup.rank(queries[0][0], people)
    cold = (time.perf_counter() - start) * 1000
    warm, no_date = [], []
    for query, truth in queries:
        start = time.perf_counter()
        ranked = dedup.rank(query, people)
        elapsed = (time.perf_counter() - start) * 1000
        (warm if query.get("birth_year") else no_date).append(elapsed)
        ids = [person["id"] for _score, person in ranked]
        shown += len(ids)
        wrong_here = sum(1 for i in ids if i != truth)
        wrong += wrong_here
        queries_with_wrong += wrong_here > 0
        if truth is not None:
            found += truth in ids
            missed += truth not in ids
    # the prefilter must not lose anything the full scoring would show
    for query, _truth in queries[:200]:
        fast = [p["id"] for _s, p in dedup.rank(query, people)]
        full = [p["id"] for _s, p in dedup.rank(query, people, prefilter=False)]
        disagreements += fast != full
    return {
        "size": len(people),
        "queries": len(queries),
        "recall": found / (found + missed),
        "precision": (shown - wrong) / shown if shown else 1.0,
        "shown per query": shown / len(queries),
        "queries with a wrong candidate": queries_with_wrong / len(queries),
        "cold": cold,
        "warm": warm,
        "no_date": no_date,
        "prefilter disagreements": disagreements,
    }


def database_timing(people: list[dict], backends: list[str]) -> dict[str, dict]:
    """find_candidates on 10,000 stored persons with cases, per database."""
    from _setup import make_app, make_worker
    from sqlalchemy import insert, select

    from portal.models import Case, Person, User

    results = {}
    queries = [
        (
            "full birth date",
            {
                "given_name": "Mohammed",
                "family_name": "Al Hasan",
                "birth_year": 1988,
                "birth_month": 4,
                "birth_day": 3,
            },
        ),
        ("year only", {"given_name": "Olexandr", "family_name": "Kowalenko", "birth_year": 1979}),
        ("no birth date", {"given_name": "Yohanes", "family_name": "Gebreyesus"}),
    ]
    for backend in backends:
        try:
            app, cleanup = make_app(backend)
        except Exception as exc:  # PostgreSQL not running
            print(f"  {backend}: skipped ({str(exc).splitlines()[0]})")
            continue
        try:
            database = app.extensions["portal.db"]
            with database.session() as session:
                user = session.get(User, make_worker(app))
                rows = [{k: v for k, v in p.items() if k != "id"} for p in people]
                session.execute(insert(Person), rows)
                ids = session.scalars(select(Person.id).order_by(Person.id)).all()
                session.execute(
                    insert(Case),
                    [{"reference": f"KIM-2026-{i:05d}", "person_id": pid,
                      "lead_organisation_id": user.organisation_id, "lead_user_id": user.id,
                      "phase": "erstberatung", "focus_areas": [], "created_by_id": user.id}
                     for i, pid in enumerate(ids, 1)],
                )  # fmt: skip
                session.commit()
            timings = {}
            with database.session() as session:
                for label, query in queries:
                    clear_caches()
                    start = time.perf_counter()
                    dedup.find_candidates(session, query)
                    cold = (time.perf_counter() - start) * 1000
                    samples = []
                    for _ in range(50):
                        start = time.perf_counter()
                        found = dedup.find_candidates(session, query)
                        samples.append((time.perf_counter() - start) * 1000)
                    timings[label] = (cold, samples, len(found))
            results[backend] = timings
        finally:
            cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--population", type=int, default=10_000)
    parser.add_argument("--no-db", action="store_true")
    parser.add_argument("--no-search", action="store_true")
    parser.add_argument("--show-errors", type=int, default=15)
    args = parser.parse_args()

    from _setup import machine

    rng = random.Random(args.seed)
    pairs = labelled_pairs(rng, args.pairs)
    start = time.perf_counter()
    for pair in pairs:
        pair.score = dedup.match_score(pair.new.as_dict(), pair.stored.as_dict())
    pair_ms = (time.perf_counter() - start) * 1000 / len(pairs)

    print(f"Machine: {machine()}")
    print(
        f"Pairs: {len(pairs)} (seed {args.seed}), {sum(p.same for p in pairs)} same person, "
        f"{sum(not p.same for p in pairs)} near misses; {pair_ms:.3f} ms per pair (cold)"
    )
    print(f"\nThreshold sweep (module THRESHOLD = {dedup.THRESHOLD}):")
    print("| threshold | precision | recall | TP | FP | FN |\n|---|---|---|---|---|---|")
    for t in (0.78, 0.80, 0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.90, 0.92):
        precision, recall, tp, fp, fn = precision_recall(pairs, t)
        mark = " **" if abs(t - dedup.THRESHOLD) < 1e-9 else ""
        print(f"| {t:.2f}{mark} | {precision:.3f} | {recall:.3f} | {tp} | {fp} | {fn} |")

    print("\nRecall per change (same-person pairs containing it):")
    per: dict[str, list[bool]] = defaultdict(list)
    for pair in pairs:
        if pair.same:
            for change in pair.kind:
                per[change].append(pair.score >= dedup.THRESHOLD)
    for change, hits in sorted(per.items(), key=lambda item: -len(item[1])):
        print(f"  {change:28s} {sum(hits)}/{len(hits)} = {sum(hits) / len(hits):.3f}")
    print("\nFalse alarms per kind of near miss:")
    per_miss: dict[str, list[bool]] = defaultdict(list)
    for pair in pairs:
        if not pair.same:
            per_miss[pair.kind[0]].append(pair.score >= dedup.THRESHOLD)
    for kind, hits in sorted(per_miss.items(), key=lambda item: -len(item[1])):
        print(f"  {kind:34s} {sum(hits)}/{len(hits)} = {sum(hits) / len(hits):.3f}")

    near = [p for p in pairs if p.score >= 0.8]
    dropped = sum(not dedup.prefilter_passes(p.new.as_dict(), p.stored.as_dict()) for p in near)
    print(f"\nPrefilter: drops {dropped} of the {len(near)} pairs scoring 0.80 or more")

    misses = [p for p in pairs if p.same and p.score < dedup.THRESHOLD]
    alarms = [p for p in pairs if not p.same and p.score >= dedup.THRESHOLD]
    print(f"\nMissed duplicates (first {args.show_errors} of {len(misses)}):")
    for p in sorted(misses, key=lambda p: p.score)[: args.show_errors]:
        print(f"  {p.score:.2f} {describe(p.stored)}  <->  {describe(p.new)}  {p.kind}")
    print(f"False alarms (first {args.show_errors} of {len(alarms)}):")
    for p in sorted(alarms, key=lambda p: -p.score)[: args.show_errors]:
        print(f"  {p.score:.2f} {describe(p.stored)}  <->  {describe(p.new)}  {p.kind}")

    if args.no_search:
        return
    print(f"\nSearch among {args.population:,} stored persons (pure function, no database):")
    scenario = search_scenario(random.Random(args.seed + 1), pairs, args.population)
    print(
        f"  recall {scenario['recall']:.3f} (the stored person is among the candidates), "
        f"precision {scenario['precision']:.3f} of all candidates shown, "
        f"{scenario['shown per query']:.2f} candidates per query, "
        f"{scenario['queries with a wrong candidate']:.1%} of queries show a wrong one"
    )
    print(
        f"  time per search: first (empty caches) {scenario['cold']:.1f} ms; "
        f"with birth year {ms(scenario['warm'])}; without {ms(scenario['no_date'])}"
    )
    print(
        f"  prefilter vs exhaustive scoring: {scenario['prefilter disagreements']} of 200 "
        "searches differ"
    )

    if not args.no_db:
        rng = random.Random(args.seed + 2)
        known = [  # the persons the three timed checks are looking for
            Record("Muhammad", "Al-Hassan", 1988, 3, 4, "male", "Syrien", "male"),
            Record("Oleksandr", "Kovalenko", 1979, 5, 12, "male", "Ukraine", "male"),
            Record("Yohannes", "Ghebreyesus", None, None, None, "male", "Eritrea", "male"),
        ]
        people = diversify(rng, population(rng, args.population - len(known), []))
        people += [record.as_dict() for record in known]
        distinct = len({p["family_name"] for p in people} | {p["given_name"] for p in people})
        print(f"\nfind_candidates on {args.population:,} persons with a case each, "
              f"{distinct:,} distinct names (2 SQL queries per check; 'first' = empty caches, "
              "every name normalised once):")  # fmt: skip
        for backend, timings in database_timing(people, ["sqlite", "postgresql"]).items():
            for label, (cold, samples, found) in timings.items():
                print(
                    f"  {backend:10s} {label:16s} first {cold:.1f} ms, then {ms(samples)}"
                    f" ({found} candidates)"
                )


if __name__ == "__main__":
    main()
