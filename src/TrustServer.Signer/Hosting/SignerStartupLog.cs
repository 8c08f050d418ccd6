using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using TrustServer.Signer.Options;

namespace TrustServer.Signer.Hosting;

/// <summary>Says once the signer listens how it is exposed, warning about every relaxed security setting.</summary>
internal static partial class SignerStartupLog
{
    public static void LogWhenStarted(this WebApplication app) =>
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TrustServer.Signer");
            var tls = app.Services.GetRequiredService<IOptions<SignerTlsOptions>>().Value;
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var urls = string.Join(", ", addresses);
            if (!tls.HasCertificate)
            {
                LogInsecure(logger, urls);
            }
            else if (string.IsNullOrWhiteSpace(tls.ClientCaFile))
            {
                LogAnyClient(logger, urls);
            }
            else
            {
                LogListening(logger, urls, tls.ClientCaFile);
            }
        });

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Signer listening on {Urls} (TLS, client certificates required from {ClientCaFile})")]
    private static partial void LogListening(ILogger logger, string urls, string clientCaFile);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Signer listening on {Urls} WITHOUT TLS (Tls:AllowInsecure): development only, anyone who can connect can create keys and sign")]
    private static partial void LogInsecure(ILogger logger, string urls);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Signer listening on {Urls} with TLS but WITHOUT client certificates (Tls:AllowAnyClient): any client that can connect can create keys and sign")]
    private static partial void LogAnyClient(ILogger logger, string urls);
}
