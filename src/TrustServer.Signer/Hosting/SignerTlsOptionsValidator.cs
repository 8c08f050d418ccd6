using Microsoft.Extensions.Options;
using TrustServer.Signer.Options;

namespace TrustServer.Signer.Hosting;

/// <summary>
/// Fail-closed rules for <see cref="SignerTlsOptions"/>: TLS unless <c>Tls:AllowInsecure</c>, client certificates
/// unless <c>Tls:AllowAnyClient</c>, existing files, and listen URLs whose scheme matches the mode.
/// </summary>
internal sealed class SignerTlsOptionsValidator(IConfiguration configuration) : IValidateOptions<SignerTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, SignerTlsOptions options)
    {
        var failures = new List<string>();
        var hasCert = !string.IsNullOrWhiteSpace(options.CertFile);
        var hasKey = !string.IsNullOrWhiteSpace(options.KeyFile);
        if (hasCert != hasKey)
        {
            failures.Add("Tls:CertFile and Tls:KeyFile must be set together (PEM certificate and its private key).");
        }
        else if (!hasCert && !options.AllowInsecure)
        {
            failures.Add("The signer requires TLS and refuses to start without it: set Tls:CertFile and Tls:KeyFile (PEM) "
                + "and Tls:ClientCaFile (CA bundle of the allowed clients). For local development only, Tls:AllowInsecure=true serves plaintext HTTP/2.");
        }

        if (options.HasCertificate && string.IsNullOrWhiteSpace(options.ClientCaFile) && !options.AllowAnyClient)
        {
            failures.Add("Tls:ClientCaFile is not set, so any client could use the signer's keys: set Tls:ClientCaFile to the PEM CA bundle "
                + "of the allowed clients (mutual TLS), or set Tls:AllowAnyClient=true to accept every TLS client deliberately.");
        }

        foreach (var (setting, path) in new[] { ("Tls:CertFile", options.CertFile), ("Tls:KeyFile", options.KeyFile), ("Tls:ClientCaFile", options.ClientCaFile) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            {
                failures.Add($"{setting}: file not found: {Path.GetFullPath(path)}");
            }
        }

        // Only meaningful once the mode is clear (TLS, or plaintext on purpose).
        var plaintext = !options.HasCertificate;
        foreach (var url in options.HasCertificate || options.AllowInsecure ? ListenUrls() : [])
        {
            if (!plaintext && url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"Listen URL {url} is plaintext, but the signer only serves TLS: use https://.");
            }
            else if (plaintext && url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"Listen URL {url} needs TLS, but no certificate is configured (Tls:AllowInsecure serves plaintext): use http:// or configure Tls:CertFile/Tls:KeyFile.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private IEnumerable<string> ListenUrls()
    {
        var urls = configuration[WebHostDefaults.ServerUrlsKey];
        if (!string.IsNullOrEmpty(urls))
        {
            foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                yield return url;
            }
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                yield return url;
            }
        }
    }
}
