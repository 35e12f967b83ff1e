package encoder

import (
	"errors"
	"slices"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/confcheck"
)

// Fields decides which attributes that no Mapping consumes become extension fields of a
// message, under which key, and which are folded into one text field instead.
//
// Plumelog's server writes every message into one shared daily Elasticsearch index with
// dynamic mapping and does not report the documents Elasticsearch rejects. So extension keys
// are written in a form that can never conflict in that mapping (see fieldKey), and their
// number is bounded: per message by MaxFields, per deployment by the allow-lists.
type Fields struct {
	// Record and Resource select among a record's and its resource's attributes.
	Record   AttributeRules `mapstructure:"record"`
	Resource AttributeRules `mapstructure:"resource"`
	// MaxFields caps the extension fields of one message, record attributes first; the
	// attributes past it are folded. 0 folds every kept attribute.
	MaxFields int `mapstructure:"max_fields"`
	// FoldKey is the string field that holds the folded attributes as logfmt text
	// (`key=value key2="a b"`), under their original names.
	FoldKey string `mapstructure:"fold_key"`
}

// AttributeRules sorts attribute keys into fields, folded text and dropped ones. Each list
// holds attribute keys as OpenTelemetry names them, where '*' matches any run of characters
// (dots included). The pattern with the most characters other than '*' that matches a key
// decides its fate; at a tie, Deny wins over Fold, and Fold over Allow. A key that no pattern
// matches is dropped.
type AttributeRules struct {
	// Allow lists the attributes that become fields of their own.
	Allow []string `mapstructure:"allow"`
	// Deny lists the attributes that are left out.
	Deny []string `mapstructure:"deny"`
	// Fold lists the attributes that go to the fold field, searchable as text but no field
	// of their own.
	Fold []string `mapstructure:"fold"`
}

// DefaultFields keeps every record attribute, as Plumelog's Java client keeps every MDC key,
// and the resource attributes that help find a log: the service's version and namespace and
// where it runs. The SDK's identity and the process, OS and instance descriptions that OTel
// SDKs attach to every record are left out. At most 32 fields per message.
func DefaultFields() Fields {
	return Fields{
		Record: AttributeRules{Allow: []string{"*"}},
		Resource: AttributeRules{
			Allow: []string{
				"service.version", "service.namespace",
				"k8s.cluster.name", "k8s.namespace.name", "k8s.node.name", "k8s.pod.name", "k8s.container.name",
				"k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.job.name", "k8s.cronjob.name",
				"container.name", "cloud.region", "cloud.availability_zone",
			},
			Deny: []string{
				"telemetry.*", "process.*", "os.*", "host.arch", "host.id", "service.instance.id",
				"container.id", "k8s.*.uid",
			},
		},
		MaxFields: 32,
		FoldKey:   "attributes",
	}
}

// maxFieldsLimit is Elasticsearch's default limit of fields in one index
// (index.mapping.total_fields.limit); one message cannot usefully carry more.
const maxFieldsLimit = 1000

// Check reports what is wrong with f, by key.
func (f Fields) Check() error {
	errs := []error{confcheck.Within("record", f.Record.check()), confcheck.Within("resource", f.Resource.check())}
	if f.MaxFields < 0 || f.MaxFields > maxFieldsLimit {
		errs = append(errs, confcheck.Errorf("max_fields", "must be between 0 and %d, got %d", maxFieldsLimit, f.MaxFields))
	}
	if err := checkFoldKey(f.FoldKey); err != nil {
		errs = append(errs, confcheck.Errorf("fold_key", "%q %v", f.FoldKey, err))
	}
	return errors.Join(errs...)
}

func (r AttributeRules) check() error {
	var errs []error
	for _, l := range []struct {
		key  string
		list []string
	}{{"allow", r.Allow}, {"deny", r.Deny}, {"fold", r.Fold}} {
		if slices.Contains(l.list, "") {
			errs = append(errs, confcheck.Errorf(l.key, "must not contain an empty pattern"))
		}
	}
	return errors.Join(errs...)
}

// checkFoldKey reports why k cannot hold the folded attributes: it must be a key that
// fieldKey leaves as it is, and no core key.
func checkFoldKey(k string) error {
	if fk, ok := fieldKey(k); !ok || fk != k {
		return errors.New("must be letters, digits, '-' and '_', not starting with '_'")
	}
	if slices.Contains(coreKeys[:], k) {
		return errors.New("is a core key of Plumelog messages")
	}
	return nil
}
