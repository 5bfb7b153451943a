#!/usr/bin/env python3
"""Writes common-passwords.txt: the passwords the identity service refuses as too common
(422 weak_password, reason "pwned"; services/identity/src/password_policy.rs).

No public breach list could be fetched when this was written, so the list is built from
what every published top list starts with (digit runs, keyboard walks, "password",
"iloveyou", first names, football clubs...), the French ones (azerty, motdepasse, soleil,
doudou...) and the Senegalese ones (senegal, dakar, teranga, galsen, touba, common first
names and family names, religious phrases, operators), each with the suffixes people add
(1, 123, 2024, 221, !...). Entries shorter than 6 characters are left out: no setting
allows passwords that short (WOLO_PASSWORD_MIN_LENGTH >= 6). The service compares
lower-cased, so the list is lower case.

    python3 services/identity/data/make-common-passwords.py > services/identity/data/common-passwords.txt
"""

WORDS = """
password passw0rd p@ssword p@ssw0rd pass motpasse qwerty qwertz azerty letmein welcome
monkey dragon master shadow sunshine princess football baseball basketball iloveyou
trustno1 superman batman spiderman starwars whatever freedom michael jennifer jordan
hunter soccer charlie computer internet secret summer winter spring autumn flower hello
admin administrator login access pokemon mustang killer ranger buster thomas robert
daniel jessica ashley nicole michelle amanda andrew joshua matthew cheese ginger pepper
maggie tigger chelsea liverpool arsenal barcelona realmadrid madrid manchester united
chocolate banana orange purple silver golden diamond angel angels baby babygirl lovely
loveme lover love family forever blessed jesus christ godisgood heaven samsung iphone
apple google facebook youtube twitter instagram whatsapp tiktok nokia default guest
changeme test testing user root temp temporary abc abcdef qwe qazwsx zxcvbnm asdfgh
asdfghjkl qwertyuiop azertyuiop player gamer game killer ninja naruto goku messi ronaldo
neymar mbappe zidane cristiano leomessi cr7 legend king queen prince boss money dollar
success victory warrior lion lions tiger eagle wolf
motdepasse mot2passe mdp bonjour bonsoir salut soleil doudou loulou chouchou marseille
paris france nicolas julien camille jetaime amour princesse cheri cherie bienvenue
marion alexandre vacances papa maman famille bonheur liberte olympique psg parisien
lyon toulouse nantes bordeaux lille coucou chocolat titi toto tata nounours bisous
jeudi lundi mardi samedi dimanche janvier juillet
senegal sénégal dakar teranga galsen touba thies kaolack ziguinchor saintlouis mbour
rufisque pikine guediawaye casamance tambacounda louga diourbel kolda matam fatick
kaffrine kedougou sedhiou yoff ouakam ngor medina plateau almadies parcelles
lionsdelateranga sadiomane sadio mane kalidou koulibaly aliou cisse diouf ndiaye diop
fall sow gueye sarr faye mbaye seck niang thiam diallo ndoye sy kane ly dieng cisse
toure camara sall mbodj ndour youssou senghor wade macky sonko diomaye
moussa mamadou ousmane abdou abdoulaye ibrahima cheikh modou fatou aminata awa mariama
khady aissatou fatima adama babacar pape serigne mouhamed mohamed muhammad mamadou
amadou alassane malick lamine idrissa souleymane assane ousseynou djibril omar oumar
astou coumba ndeye binta rokhaya dieynaba seynabou marieme penda sokhna maimouna
mouride tidiane bayefall bamba serignetouba cheikhbamba khadim khassida magal gamou
allah allahakbar bismillah alhamdoulillah alhamdulillah inchallah inshallah mashallah
subhanallah astaghfirullah lailahaillallah muslim islam coran quran
wave orange orangemoney sonatel free expresso yas wari jerejef nangadef nanga waaw jamm
yallah wolof baobab thieboudienne thiebou yassa mafe attaya ndogou tabaski korite
sunugal sunu gaindé gainde ndanane niokobok dalal dieuredieuf
"""

SUFFIXES = [
    "", "1", "12", "123", "1234", "12345", "123456", "!", "@", "01", "07", "10", "11",
    "00", "13", "69", "77", "221", "@123", "123!", "_123", "2020", "2021", "2022",
    "2023", "2024", "2025", "2026", "1990", "1995", "2000",
]

EXTRA = """
123456 1234567 12345678 123456789 1234567890 0123456789 01234567 0123456 012345
987654321 9876543210 87654321 7654321 654321 098765 0987654321
121212 12121212 112233 11223344 123123 123123123 123321 1234321 12344321 159753
147258 147258369 258369 789456 456789 741852963 963852741 102030 10203040 1020304050
12341234 123454321 123qwe 1q2w3e 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx
qwer1234 asdf1234 azer1234 1234qwer 1234azer 1234abcd abcd1234 a1b2c3 a1b2c3d4
a123456 a1234567 a12345678 aa123456 abc12345 password1 qwerty123 qwerty1 azerty123
azertyui azertyu qsdfghjklm qsdfghjk qsdfgh wxcvbn wxcvbnqsdfgh poiuytreza ytreza
ytrewq mnbvcxz zxcvbn qazwsxedc azsxdcfv aqwzsx azeqsdwxc qwaszx asdasd qweqwe
iloveu iloveyou2 loveyou ilove jetaime2 motdepasse1 soleil12
aaaaaa aaaaaaaa abcabc abcdabcd azazaz
771234567 781234567 761234567 701234567 751234567 221771234567
"""


def main() -> None:
    out: set[str] = set()
    for w in WORDS.split():
        for s in SUFFIXES:
            out.add((w + s).lower())
    out.update(w.lower() for w in EXTRA.split())
    for d in "0123456789":
        for n in range(6, 13):
            out.add(d * n)
    # Years twice and birth dates people pick (ddmmyyyy of the 1st of each month).
    for y in range(1950, 2027):
        out.add(f"{y}{y}")
        out.add(f"0101{y}")
    kept = sorted(p for p in out if len(p) >= 6)
    print("# Common passwords, refused with 422 weak_password (reason \"pwned\"), compared lower-cased.")
    print("# Generated by make-common-passwords.py (see there for where they come from). One per line.")
    for p in kept:
        print(p)


if __name__ == "__main__":
    main()
