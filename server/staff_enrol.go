package server

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

type staffEnrolForm struct {
	Username string
	Token    string
	Secret   string
	QRCode   template.URL // data: URI of a PNG we made; trusted as a URL
	Error    string
	// PasskeysOn: passkeys work at this address, so the page offers to
	// register some besides the app; Passkeys names those registered.
	PasskeysOn bool
	Passkeys   []string
	MaxName    int
}

type staffRecovery struct {
	Username string
	Codes    []string
}

func (s *Server) enrolmentPage(c *fiber.Ctx, st storage.Staff, token, secret, msg string) error {
	key, err := crypto.TOTPKeyFromSecret(s.cfg.OrgName+" (Candour)", st.Username, secret)
	if err != nil {
		return err
	}
	png, err := crypto.TOTPQRCodePNG(key)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusBadRequest
	}
	f := staffEnrolForm{
		Username: st.Username, Token: token, Secret: key.Secret(),
		QRCode: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), Error: msg,
		MaxName: storage.MaxPasskeyName,
	}
	if _, off := s.relyingParty(); off == "" {
		f.PasskeysOn = true
		keys, err := s.db.Passkeys(c.UserContext(), st.ID)
		if err != nil {
			return err
		}
		// Only this browser's: the others, added through the same link
		// elsewhere, are deleted when this browser completes it.
		mine := enrolBrowser(s.cookie(c, enrolCookie))
		for _, k := range keys {
			if mine != nil && bytes.Equal(k.EnrolBinding, mine) {
				f.Passkeys = append(f.Passkeys, k.Name)
			}
		}
	}
	return s.render(c, status, "staff_enrol", "Set up your account", f)
}
