package letters

// The words of the letters, written once and rendered twice: as PDF
// (pdf.go) and as plain text (text.go), so the two can never say different
// things.

// blockKind is what a block of a letter's body is.
type blockKind int

const (
	paragraph blockKind = iota
	heading             // a bold line before what it names
	steps               // a numbered list
	fields              // label and value pairs, framed: what the letter is for
	english             // the summary in English, set apart
)

type field struct {
	label, value string
	// secret marks what the letter is for (a number or password to type
	// in), printed large.
	secret bool
}

type block struct {
	kind   blockKind
	text   string   // paragraph, heading, english
	items  []string // steps
	fields []field  // fields
}

// content is one letter's words.
type content struct {
	subject string
	// info is the information block beside the address: date and references.
	info   []field
	blocks []block
	// closing is the greeting above the sender's name.
	closing string
}

const closing = "Med venlig hilsen"

// The letters' subjects. A subject holds no secret, so the outbox lists it
// in clear: these tell a key-card letter from a temporary-password letter
// without opening either.
const (
	TemporaryPasswordSubject = "Din midlertidige adgangskode til NemID"
	KeyCardSubject           = "Dit nøglekort til NemID"
)

func temporaryPasswordContent(l Letter, p TemporaryPassword) content {
	return content{
		subject: TemporaryPasswordSubject,
		info:    []field{{label: "Dato", value: danishDate(l.Date)}},
		blocks: []block{
			{kind: paragraph, text: "Kære " + l.To.Name},
			{kind: paragraph, text: "Her er dit NemID-nummer og din midlertidige adgangskode. Du skal bruge dem, " +
				"første gang du logger på med NemID. Samtidig vælger du din egen adgangskode."},
			{kind: fields, fields: []field{
				{label: "NemID-nummer", value: p.NemIDNumber, secret: true},
				{label: "Midlertidig adgangskode", value: p.Password, secret: true},
				{label: "Gyldig til", value: danishDateTime(p.ValidUntil)},
			}},
			{kind: heading, text: "Sådan aktiverer du dit NemID"},
			{kind: steps, items: []string{
				"Gå til NemID selvbetjening, eller log på din netbank med NemID.",
				"Skriv dit NemID-nummer som bruger-id og den midlertidige adgangskode som adgangskode.",
				"Vælg din egen adgangskode, og skriv den to gange.",
				"Skriv den nøgle fra dit nøglekort, som du bliver bedt om. Nøglekortet får du i et brev for sig.",
			}},
			{kind: paragraph, text: "Den midlertidige adgangskode kan kun bruges én gang. Er den udløbet, " +
				"før du har brugt den, kan du bestille en ny."},
			{kind: paragraph, text: "Giv aldrig din adgangskode eller dine nøgler til andre. NemID beder aldrig " +
				"om dem i en e-mail, en sms eller en telefonsamtale."},
			{kind: english, text: "In English: This letter gives you your NemID number and a temporary password. " +
				"Use them to log on to NemID before " + englishDateTime(p.ValidUntil) + ", and choose your own " +
				"password. Your code card comes in a separate letter."},
		},
		closing: closing,
	}
}

func keyCardContent(l Letter, c KeyCardSheet) content {
	return content{
		subject: KeyCardSubject,
		info:    []field{{label: "Dato", value: danishDate(l.Date)}, {label: "Nøglekortnummer", value: c.CardNumber}},
		blocks: []block{
			{kind: paragraph, text: "Kære " + l.To.Name},
			{kind: paragraph, text: "Her er dit nøglekort til NemID. Du bruger det sammen med dit bruger-id og " +
				"din adgangskode, hver gang du logger på med NemID."},
			{kind: heading, text: "Sådan bruger du nøglekortet"},
			{kind: steps, items: []string{
				"Klip kortet nederst på siden ud langs den stiplede linje, og fold det på midten.",
				"Når du logger på, viser NemID et nøglenummer på 4 cifre. Find nummeret på kortet, " +
					"og skriv den 6-cifrede nøgle, der står ved siden af.",
				"Hver nøgle kan kun bruges én gang. Før kortet er brugt op, sender NemID dig automatisk et nyt.",
			}},
			{kind: paragraph, text: "Opbevar nøglekortet, så andre ikke kan se det, og giv aldrig dine nøgler " +
				"til andre. Mister du kortet, skal du spærre dit NemID med det samme."},
			{kind: english, text: "In English: This is your NemID code card. Cut it out along the dashed line " +
				"and fold it in the middle. When you log on, NemID shows a 4-digit key number: enter the " +
				"6-digit code printed next to it. Each code works once."},
		},
		closing: closing,
	}
}
