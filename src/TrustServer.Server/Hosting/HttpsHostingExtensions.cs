using TrustServer.Server.Options;

namespace TrustServer.Server.Hosting;

/// <summary>
/// Where the server listens: the configured URLs or Kestrel endpoints, else <see cref="TrustServerHost.DefaultUrl"/>;
/// with <c>DevelopmentTls:Enabled</c>, HTTPS with a generated development certificate (default
/// <see cref="DefaultHttpsUrl"/>). Real certificates are Kestrel's own settings (<c>Kestrel:Certificates:Default:*</c>,
/// <c>Kestrel:Endpoints:*</c>); Kestrel refuses to start when one cannot be loaded.
/// </summary>
internal static class HttpsHostingExtensions
{
    /// <summary>Where the server listens with <c>DevelopmentTls:Enabled</c> and no URL configured.</summary>
    public const string DefaultHttpsUrl = "https://127.0.0.1:4443";

    public static WebApplicationBuilder AddListening(this WebApplicationBuilder builder)
    {
        var tls = builder.GetValidatedOptions<DevelopmentTlsOptions>(DevelopmentTlsOptions.Section);
        if (tls.Problems().ToList() is { Count: > 0 } problems)
        {
            throw new ServerConfigurationException(string.Join("; ", problems));
        }

        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        var endpoints = builder.Configuration.GetSection("Kestrel:Endpoints").Exists();
        var configured = !string.IsNullOrEmpty(urls) || endpoints;
        if (!tls.Enabled)
        {
            if (!configured)
            {
                builder.WebHost.UseUrls(TrustServerHost.DefaultUrl);
            }

            return builder;
        }

        if (builder.Configuration.GetSection("Kestrel:Certificates:Default").Exists())
        {
            throw new ServerConfigurationException(
                "DevelopmentTls:Enabled and Kestrel:Certificates:Default both name the server certificate; configure one of them");
        }

        if (!configured)
        {
            builder.WebHost.UseUrls(DefaultHttpsUrl);
        }
        else if (!endpoints && !urls!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                     .Any(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ServerConfigurationException($"DevelopmentTls:Enabled needs an https:// URL to serve; the configured URLs are {urls}");
        }

        var directory = Path.Combine(builder.Environment.ContentRootPath, tls.Directory);
        var material = DevelopmentCertificates.Ensure(directory, DevelopmentCertificates.NamesFor(tls.HostNames), DateTimeOffset.UtcNow);
        builder.Services.AddSingleton(material);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = material.Certificate));
        return builder;
    }
}
