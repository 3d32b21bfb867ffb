package octaviatest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// A minimal Keystone v3 under /identity, enough for clients that start from
// a clouds.yaml: version discovery, password (and token / application
// credential) authentication, and a catalog whose "load-balancer" service
// points at this server (at the host the client used to reach it). Octavia itself stays in noauth mode: tokens are
// not required by the API, only mapped to their project.

// KeystoneURL is the identity endpoint to put in a clouds.yaml auth_url.
func (s *Server) KeystoneURL() string { return s.URL + "/identity/v3" }

const keystoneTimeFormat = "2006-01-02T15:04:05.000000Z"

func keystoneError(status int, msg string) response {
	return jsonResponse(status, map[string]any{"error": map[string]any{
		"code": status, "message": msg, "title": http.StatusText(status)}})
}

func keystoneVersion(base string) map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links": []linkJSON{{Href: base + "/identity/v3/", Rel: "self"}},
		"media-types": []map[string]string{{"base": "application/json",
			"type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (s *Server) handleKeystoneVersions(rq *request) response {
	return jsonResponse(http.StatusMultipleChoices, map[string]any{
		"versions": map[string]any{"values": []any{keystoneVersion(rq.baseURL)}}})
}

func (s *Server) handleKeystoneV3(rq *request) response {
	return jsonResponse(http.StatusOK, map[string]any{"version": keystoneVersion(rq.baseURL)})
}

type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					Password string `json:"password"`
				} `json:"user"`
			} `json:"password"`
			Token struct {
				ID string `json:"id"`
			} `json:"token"`
			AppCred struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Secret string `json:"secret"`
			} `json:"application_credential"`
		} `json:"identity"`
		Scope *struct {
			Project *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

func (s *Server) handleCreateToken(rq *request) response {
	var ar authRequest
	if err := json.Unmarshal(rq.body, &ar); err != nil {
		return keystoneError(http.StatusBadRequest, "Expecting to find auth in request body.")
	}
	id := ar.Auth.Identity
	unauthorized := keystoneError(http.StatusUnauthorized, "The request you have made requires authentication.")
	user := "admin"
	switch {
	case contains(id.Methods, "password"):
		user = orDefault(id.Password.User.Name, id.Password.User.ID)
		if s.users != nil {
			pw, ok := s.users[user]
			if !ok || pw != id.Password.User.Password {
				return unauthorized
			}
		}
	case contains(id.Methods, "token"):
		if _, ok := s.tokens[id.Token.ID]; !ok && s.users != nil {
			return unauthorized
		}
	case contains(id.Methods, "application_credential"):
		cred := orDefault(id.AppCred.ID, id.AppCred.Name)
		if s.users != nil && s.users[cred] != id.AppCred.Secret {
			return unauthorized
		}
	default:
		return unauthorized
	}

	projectID, projectName := s.projectID, "admin"
	if sc := ar.Auth.Scope; sc != nil && sc.Project != nil {
		projectID = orDefault(sc.Project.ID, projectID)
		projectName = orDefault(sc.Project.Name, projectName)
	}
	token := "gAAAAA" + strings.ReplaceAll(s.st.newID()+s.st.newID(), "-", "")
	s.tokens[token] = projectID

	domain := map[string]string{"id": "default", "name": "Default"}
	endpoints := func(url string) []map[string]string {
		var out []map[string]string
		for _, iface := range []string{"public", "internal", "admin"} {
			out = append(out, map[string]string{"id": hashID(url + iface), "interface": iface,
				"region": "RegionOne", "region_id": "RegionOne", "url": url})
		}
		return out
	}
	body := map[string]any{"token": map[string]any{
		"methods":    id.Methods,
		"user":       map[string]any{"id": hashID("user:" + user), "name": user, "domain": domain, "password_expires_at": nil},
		"audit_ids":  []string{hashID(token)[:22]},
		"expires_at": rq.now.Add(24 * time.Hour).UTC().Format(keystoneTimeFormat),
		"issued_at":  rq.now.UTC().Format(keystoneTimeFormat),
		"project":    map[string]any{"id": projectID, "name": projectName, "domain": domain},
		"is_domain":  false,
		"roles":      []map[string]string{{"id": hashID("role:admin"), "name": "admin"}, {"id": hashID("role:member"), "name": "member"}},
		"catalog": []map[string]any{
			{"id": hashID("svc:octavia"), "type": "load-balancer", "name": "octavia", "endpoints": endpoints(rq.baseURL + "/")},
			{"id": hashID("svc:keystone"), "type": "identity", "name": "keystone", "endpoints": endpoints(rq.baseURL + "/identity")},
		},
	}}
	r := jsonResponse(http.StatusCreated, body)
	r.header = map[string]string{"X-Subject-Token": token}
	return r
}

// hashID derives stable Keystone-style IDs (32 hex digits) from names.
func hashID(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
