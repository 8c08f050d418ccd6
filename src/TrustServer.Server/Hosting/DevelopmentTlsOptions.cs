using System.Net;
using System.Text.RegularExpressions;

namespace TrustServer.Server.Hosting;

/// <summary>
/// HTTPS from one setting (<c>DevelopmentTls</c> section): a development CA and a server certificate generated under
/// <see cref="Directory"/> on first start, reused afterwards. For local use and trials; production uses a real
/// certificate through Kestrel's own settings (<c>Kestrel:Certificates:Default:*</c>).
/// </summary>
public sealed partial class DevelopmentTlsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "DevelopmentTls";

    /// <summary>Generate (or reuse) the development CA and certificate and serve HTTPS with it.</summary>
    public bool Enabled { get; set; }

    /// <summary>Where the CA and the certificate are kept (relative to the content root); created with mode 0700.</summary>
    public string Directory { get; set; } = "data/tls";

    /// <summary>
    /// Names the certificate covers besides <c>localhost</c>, <c>127.0.0.1</c>, <c>::1</c> and the machine's host name:
    /// DNS names or IP addresses by which clients reach the server.
    /// </summary>
    public List<string> HostNames { get; set; } = [];

    /// <summary>The configuration problems, empty when there are none.</summary>
    public IEnumerable<string> Problems()
    {
        if (!Enabled)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(Directory))
        {
            yield return "DevelopmentTls:Directory must not be empty";
        }

        foreach (var name in HostNames.Where(n => !IsHostName(n)))
        {
            yield return $"DevelopmentTls:HostNames: '{name}' is neither a DNS name nor an IP address";
        }
    }

    /// <summary>Whether <paramref name="name"/> is an IP address or a DNS name (letters, digits, '-', '.'; labels ≤ 63).</summary>
    internal static bool IsHostName(string name) =>
        IPAddress.TryParse(name, out _) || (name.Length <= 253 && DnsName().IsMatch(name));

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex DnsName();
}
