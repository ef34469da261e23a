package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// GenesisHash is the previous-hash of the first event of a chain that was
// never cut.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ChainHash computes an event's hash: SHA-256 over the previous event's hash
// and the event's JSON with its own Hash field empty. Sequence and
// PreviousHash are inside the JSON, so moving, inserting or deleting an event
// breaks the chain as surely as editing one.
func ChainHash(ev Event) (string, []byte, error) {
	ev.Hash = ""
	body, err := json.Marshal(ev)
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	h.Write([]byte(ev.PreviousHash))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), body, nil
}
