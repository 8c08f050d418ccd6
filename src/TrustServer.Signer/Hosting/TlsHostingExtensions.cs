using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using TrustServer.Signer.Options;

namespace TrustServer.Signer.Hosting;

/// <summary>
/// Kestrel for the signer: HTTP/2 only, TLS 1.2+ with the configured certificate and required client certificates
/// validated against exactly <c>Tls:ClientCaFile</c> (spec signer.md §1; config-and-ops.md §4). Fail closed: see
/// <see cref="SignerTlsOptionsValidator"/>.
/// </summary>
internal static class TlsHostingExtensions
{
    public static WebApplicationBuilder AddSignerTransport(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<SignerTlsOptions>, SignerTlsOptionsValidator>();
        builder.Services.AddOptions<SignerTlsOptions>().BindConfiguration(SignerTlsOptions.Section).ValidateOnStart();

        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            var tls = builder.Configuration.GetSection(SignerTlsOptions.Section).Get<SignerTlsOptions>() ?? new SignerTlsOptions();
            builder.WebHost.UseUrls(!tls.HasCertificate && tls.AllowInsecure ? SignerHost.DefaultInsecureUrl : SignerHost.DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;

            // gRPC needs HTTP/2; without TLS this is prior-knowledge h2c (development only).
            kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);

            // Kestrel's options are created when the application is built (also for the commands): only read the raw
            // settings here. They are validated at start (ValidateOnStart, before any endpoint is bound), and the
            // files are loaded when the HTTPS endpoints are bound.
            var tls = context.Configuration.GetSection(SignerTlsOptions.Section).Get<SignerTlsOptions>() ?? new SignerTlsOptions();
            if (!tls.HasCertificate)
            {
                return;
            }

            var material = new Lazy<(X509Certificate2 Certificate, X509Certificate2Collection Chain, ClientCertificateValidator? Validator)>(() =>
            {
                var (certificate, chain) = LoadServerCertificate(tls.CertFile!, tls.KeyFile!);
                var validator = string.IsNullOrWhiteSpace(tls.ClientCaFile)
                    ? null
                    : new ClientCertificateValidator(
                        LoadCertificates(tls.ClientCaFile, "Tls:ClientCaFile"),
                        kestrel.ApplicationServices.GetRequiredService<TimeProvider>(),
                        kestrel.ApplicationServices.GetRequiredService<ILogger<ClientCertificateValidator>>());
                return (certificate, chain, validator);
            });
            kestrel.ConfigureHttpsDefaults(https =>
            {
                var (certificate, chain, validator) = material.Value;
                https.ServerCertificate = certificate;
                https.ServerCertificateChain = chain;
                https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                https.CheckCertificateRevocation = false;
                if (validator is null)
                {
                    https.ClientCertificateMode = ClientCertificateMode.NoCertificate;
                }
                else
                {
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;

                    // The platform's verdict (system roots) is irrelevant: only the configured CA bundle counts.
                    https.ClientCertificateValidation = (clientCertificate, presentedChain, _) => validator.Validate(clientCertificate, presentedChain);
                }
            });
        });
        return builder;
    }

    private static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServerCertificate(string certFile, string keyFile)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            throw new SignerConfigurationException($"Tls:CertFile/Tls:KeyFile ({certFile}, {keyFile}) cannot be loaded as a PEM certificate and its private key: {ex.Message}", ex);
        }

        // Certificates after the leaf in the file are presented as its chain (as Go's tls.LoadX509KeyPair does).
        var all = LoadCertificates(certFile, "Tls:CertFile");
        var chain = new X509Certificate2Collection();
        foreach (var extra in all.Skip(1))
        {
            chain.Add(extra);
        }

        return (certificate, chain);
    }

    private static X509Certificate2Collection LoadCertificates(string path, string setting)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new SignerConfigurationException($"{setting} ({path}) cannot be read as PEM certificates: {ex.Message}", ex);
        }

        return certificates.Count > 0 ? certificates : throw new SignerConfigurationException($"{setting} ({path}) contains no PEM certificate.");
    }
}

/// <summary>The signer's configuration cannot work; the message says what to change.</summary>
public sealed class SignerConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SignerConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public SignerConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
