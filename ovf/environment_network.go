package ovf

// The OVF environment properties that fogkit's appliance agent reads at
// boot (package agent, its network and hostname steps). A vendor declares
// them in the appliance's ProductSection with NetworkProperties, so that
// vSphere's deployment wizard asks for them, and the hypervisor hands the
// values to the guest in ovf-env.xml (ISO transport: a CD-ROM).
//
// An empty or absent PropertyIPv4 means DHCP; the other network keys are
// then ignored. PropertyHostname applies either way.
const (
	// PropertyHostname is the appliance's host name (RFC 1123 label or
	// dotted name, at most 253 bytes).
	PropertyHostname = "hostname"
	// PropertyIPv4 is the first NIC's static IPv4 address, either alone
	// ("192.0.2.10", with PropertyNetmask) or with its prefix length
	// ("192.0.2.10/24").
	PropertyIPv4 = "ip0"
	// PropertyNetmask is the first NIC's netmask, dotted ("255.255.255.0")
	// or as a prefix length ("24"). Ignored when PropertyIPv4 has a prefix.
	PropertyNetmask = "netmask0"
	// PropertyGateway is the default gateway; empty means none (a
	// directly connected network only).
	PropertyGateway = "gateway"
	// PropertyDNS lists DNS servers, separated by commas or spaces.
	PropertyDNS = "dns"
	// PropertySearch lists DNS search domains, separated by commas or
	// spaces.
	PropertySearch = "searchDomains"
)

// NetworkProperties returns ProductSection property declarations for the
// keys above, in the "Network" category, user-configurable, with empty
// defaults (so an appliance deployed without answers uses DHCP). Append
// them to Product.Properties; hostnameDefault may be "".
func NetworkProperties(hostnameDefault string) []Property {
	return []Property{
		{Key: PropertyHostname, Type: "string", Qualifiers: "MaxLen(253)", Default: hostnameDefault, Label: "Host name",
			Description: "Host name of the appliance. Empty: the product name and a suffix from the NIC's MAC address.", Category: "Network", UserConfigurable: true},
		{Key: PropertyIPv4, Type: "string", VMwareQualifiers: "Ip", Label: "IPv4 address",
			Description: "Static IPv4 address of the first NIC, optionally with /prefix. Empty: DHCP.", Category: "Network", UserConfigurable: true},
		{Key: PropertyNetmask, Type: "string", Label: "Netmask",
			Description: "Netmask (255.255.255.0) or prefix length (24) of the static address.", Category: "Network", UserConfigurable: true},
		{Key: PropertyGateway, Type: "string", VMwareQualifiers: "Ip", Label: "Default gateway",
			Description: "Default gateway of the static address. Empty: none.", Category: "Network", UserConfigurable: true},
		{Key: PropertyDNS, Type: "string", Label: "DNS servers",
			Description: "DNS servers of the static address, separated by commas.", Category: "Network", UserConfigurable: true},
		{Key: PropertySearch, Type: "string", Label: "DNS search domains",
			Description: "DNS search domains, separated by commas.", Category: "Network", UserConfigurable: true},
	}
}
