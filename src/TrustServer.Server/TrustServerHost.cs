using Microsoft.Extensions.Options;
using TrustServer.Server.Admin;
using TrustServer.Server.Audit;
using TrustServer.Server.Auth;
using TrustServer.Server.Expiry;
using TrustServer.Server.Hosting;
using TrustServer.Server.Notary;
using TrustServer.Server.Observability;
using TrustServer.Server.OpenApi;
using TrustServer.Server.Options;
using TrustServer.Server.Retention;
using TrustServer.Server.Trust;
using TrustServer.Server.Webhooks;

namespace TrustServer.Server;

/// <summary>Builds and runs the server; tests build it the same way with their own configuration.</summary>
public static class TrustServerHost
{
    /// <summary>Where the server listens when no URL is configured (DESIGN.md §6).</summary>
    public const string DefaultUrl = "http://127.0.0.1:4443";

    /// <summary>
    /// Builds the application. <paramref name="settings"/> are added on top of the configuration before anything
    /// reads it; <paramref name="services"/> runs after the server's registrations and may replace them (tests).
    /// </summary>
    public static WebApplication Build(
        string[] args, IEnumerable<KeyValuePair<string, string?>>? settings = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddSettingsDirectory();
        builder.AddListening();
        builder.AddObservability();
        builder.Services.AddNotaryOptions();
        builder.AddMetadataStorage();
        builder.AddServerSigning();
        builder.Services.AddSigningMetrics();
        builder.AddApiDocumentation();
        builder.AddApiProblems();
        builder.AddTokenAuth();
        builder.AddTrustedProxies();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<MetadataReadCache>();
        builder.Services.AddSingleton<PublishedStates>();
        builder.Services.AddHostedService<CacheInvalidationService>();
        builder.Services.AddSingleton<CurrentChainReader>();
        builder.Services.AddSingleton<ChainResigner>();
        builder.Services.AddSingleton<LazyResigner>();
        builder.Services.AddSingleton<ResignerStatus>();
        builder.Services.AddHostedService<BackgroundResigner>();
        builder.Services.AddSingleton<RepositoryPublisher>();
        builder.Services.AddSingleton<ServerKeys>();
        builder.Services.AddSingleton<UploadGate>();
        builder.Services.AddKeyCreationLimits();
        builder.Services.AddAuditLog();
        builder.Services.AddRetention();
        builder.Services.AddExpiryAlerts();
        builder.Services.AddSingleton<TrustQueryService>();
        builder.Services.AddWebhooks();
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseTrustedProxies();
        app.UseObservability();
        app.UseApiDocumentation();
        app.UseApiProblems();
        app.MapHealthEndpoints();
        app.MapAdminEndpoints();
        app.MapTrustEndpoints();
        app.MapTokenAuth();
        app.MapNotaryEndpoints();
        return app;
    }

    /// <summary>
    /// Runs the server; with <c>migrate</c> as first argument applies migrations and exits; with <c>hash-password</c>
    /// reads a password from standard input and prints its hash for <c>Auth:Issuer:Users:&lt;name&gt;:PasswordHash</c>;
    /// with <c>import</c> imports a Notary deployment's data (<see cref="Import.ImportCommand"/>); with <c>export</c>
    /// writes repositories into a bundle (<see cref="Import.ExportCommand"/>).
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "import")
        {
            return await Import.ImportCommand.RunAsync(args[1..], Console.Out, Console.Error);
        }

        if (args.Length > 0 && args[0] == "export")
        {
            return await Import.ExportCommand.RunAsync(args[1..], Console.Out, Console.Error);
        }

        if (args.Length > 0 && args[0] == "hash-password")
        {
            if (!Console.IsInputRedirected)
            {
                await Console.Error.WriteAsync("Password: ");
            }

            var password = Console.ReadLine();
            if (string.IsNullOrEmpty(password))
            {
                await Console.Error.WriteLineAsync("hash-password: no password on standard input.");
                return 2;
            }

            Console.WriteLine(TokenIssuer.HashPassword(password));
            return 0;
        }

        var migrateOnly = args.Length > 0 && args[0] == "migrate";
        var timeline = new StartupTimeline();
        try
        {
            await using var app = Build(migrateOnly ? args[1..] : args);
            timeline.Mark("host built");
            app.Services.ValidateOptions();
            timeline.Mark("configuration validated");
            if (migrateOnly)
            {
                await app.Services.MigrateDatabasesAsync(CancellationToken.None);
                Console.WriteLine("TrustServer: migrations applied.");
                return 0;
            }

            await app.PrepareDatabasesAsync(CancellationToken.None, timeline);
            await StartListeningAsync(app);
            timeline.Mark("listening (Kestrel started: certificates loaded, ports bound; hosted services started)");
            ServerBanner.Print(app);
            timeline.Log(app.Services);
            await app.WaitForShutdownAsync();
            return 0;
        }
        catch (Exception ex) when (ex is OptionsValidationException or ServerConfigurationException)
        {
            await Console.Error.WriteLineAsync(ValidatedOptions.ErrorLine(ex));
            return 1;
        }
    }

    // Kestrel loads configured certificates and binds when the host starts: a certificate that cannot be loaded or an
    // address that cannot be bound stops the start (never a fallback to plain HTTP) with one line naming the problem.
    private static async Task StartListeningAsync(WebApplication app)
    {
        try
        {
            await app.StartAsync();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException
                                       || (ex is InvalidOperationException && ex.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ServerConfigurationException($"cannot listen: {ex.Message}", ex);
        }
    }
}
