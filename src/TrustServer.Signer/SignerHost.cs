using Microsoft.Extensions.Options;
using TrustServer.Signer.Hosting;
using TrustServer.Signer.Services;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;

namespace TrustServer.Signer;

/// <summary>Builds and runs the signer; tests build it the same way with their own configuration.</summary>
public static class SignerHost
{
    /// <summary>Where the signer listens when no URL is configured (DESIGN.md §6).</summary>
    public const string DefaultUrl = "https://127.0.0.1:7899";

    /// <summary>The default URL in the development mode without TLS (<c>Tls:AllowInsecure</c>).</summary>
    public const string DefaultInsecureUrl = "http://127.0.0.1:7899";

    /// <summary>
    /// Builds the application. <paramref name="settings"/> are added on top of the configuration before anything
    /// reads it; <paramref name="services"/> runs after the signer's registrations and may replace them (tests).
    /// Configuration problems surface as <see cref="OptionsValidationException"/> when the application starts.
    /// </summary>
    public static WebApplication Build(
        string[] args, IEnumerable<KeyValuePair<string, string?>>? settings = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        if (builder.Configuration["Logging:LogLevel:Microsoft.EntityFrameworkCore"] is null)
        {
            builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        }

        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddSignerTransport();
        builder.AddSignerKeyStore();
        builder.Services.AddGrpc(o => o.Interceptors.Add<RequestLimitsInterceptor>());
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapGrpcService<KeyManagementService>();
        app.MapGrpcService<SignerService>();
        app.MapGrpcService<HealthService>();
        app.LogWhenStarted();
        return app;
    }

    /// <summary>
    /// Runs the signer; with <c>migrate</c> applies migrations and exits; with <c>reencrypt &lt;newAlias&gt;</c>
    /// re-encrypts every key under the passphrase of <c>NOTARY_SIGNER_&lt;NEWALIAS&gt;</c> and exits.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        output ??= Console.Out;
        error ??= Console.Error;
        ProcessHardening.DisableCoreDumps();

        var command = args.Length > 0 ? args[0] : null;
        try
        {
            switch (command)
            {
                case "migrate":
                {
                    await using var app = Build(args[1..]);
                    app.Services.ValidateKeyStoreOptions();
                    await app.Services.GetRequiredService<KeyStore>().MigrateAsync();
                    await output.WriteLineAsync("TrustServer signer: migrations applied.");
                    return 0;
                }

                case "reencrypt":
                {
                    if (args.Length < 2 || args[1].StartsWith('-') || args[1].Contains('='))
                    {
                        await error.WriteLineAsync("usage: TrustServer.Signer reencrypt <newAlias> [configuration...]  (passphrase in NOTARY_SIGNER_<NEWALIAS>)");
                        return 2;
                    }

                    await using var app = Build(args[2..]);
                    app.Services.ValidateKeyStoreOptions();
                    var count = await app.Services.GetRequiredService<KeyStore>().ReencryptAllAsync(args[1]);
                    await output.WriteLineAsync($"TrustServer signer: re-encrypted {count} keys under passphrase alias {args[1]}.");
                    return 0;
                }

                default:
                {
                    await using var app = Build(args);
                    await app.PrepareKeyDatabaseAsync(CancellationToken.None);
                    await app.StartAsync();
                    await app.WaitForShutdownAsync();
                    return 0;
                }
            }
        }
        catch (Exception ex) when (ex is OptionsValidationException or SignerConfigurationException or KeyStoreException or Pkcs11TokenException)
        {
            await error.WriteLineAsync($"TrustServer signer: {ex.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }
}
