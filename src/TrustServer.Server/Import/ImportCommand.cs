using System.Globalization;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Data.Import;
using TrustServer.Server.Hosting;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Signing.Keys;

namespace TrustServer.Server.Import;

/// <summary>
/// The <c>import</c> commands of the server host (issue 14), writing into the store the usual settings name
/// (<c>Storage:*</c>, <c>ConnectionStrings:Metadata</c>, <c>ConnectionStrings:Keys</c>, <c>Signing:*</c>):
/// <code>
/// import notary-db --from "&lt;conn&gt;" --provider postgres|mysql [--gun-prefix P] [--dry-run] [--report FILE] [--batch N] [--changefeed-headroom N]
/// import notary-signer-keys --from "&lt;conn&gt;" --provider postgres|mysql [--dry-run]
/// import notary-server --url https://… [--ca-file F] [--gun G]… [--username U --password-stdin | --token-file F] [--dry-run] [--report FILE]
/// import bundle FILE [--gun-prefix P] [--dry-run] [--report FILE]
/// </code>
/// Other arguments of the form <c>--Section:Key=value</c> are configuration. Exit codes: 0 success, 1 a repository
/// (or key) failed or is broken, or the source/destination cannot be used, 2 usage error (one line).
/// </summary>
public static partial class ImportCommand
{
    /// <summary>Exit code: everything imported and verified.</summary>
    public const int Success = 0;

    /// <summary>Exit code: some repository failed or is broken, or the source or destination cannot be used.</summary>
    public const int Failure = 1;

    /// <summary>Exit code: the command line is wrong.</summary>
    public const int Usage = 2;

    private const string UsageText =
        "usage: import notary-db --from <connection string> --provider postgres|mysql [--gun-prefix P] [--dry-run] [--report FILE] [--batch N] [--changefeed-headroom N]"
        + " | import notary-signer-keys --from <connection string> --provider postgres|mysql [--dry-run]"
        + " | import notary-server --url <https://…> [--ca-file F] [--gun G]... [--username U --password-stdin | --token-file F] [--gun-prefix P] [--dry-run] [--report FILE]"
        + " | import bundle FILE [--gun-prefix P] [--dry-run] [--report FILE]";

    // Per request to a live source server.
    private static readonly TimeSpan SourceTimeout = TimeSpan.FromSeconds(30);

    // Commands log warnings and errors to stderr only: stdout carries the summary.
    internal static readonly Dictionary<string, string?> CommandLogging = new()
    {
        ["Serilog:MinimumLevel:Default"] = "Warning",
        ["Serilog:WriteTo:0:Name"] = "Console",
        ["Serilog:WriteTo:0:Args:standardErrorFromLevel"] = "Verbose",
        ["Serilog:WriteTo:0:Args:formatProvider"] = null,
    };

    /// <summary>Runs <c>import …</c> (<paramref name="args"/> without the leading <c>import</c>).</summary>
    /// <param name="args">The arguments after <c>import</c>.</param>
    /// <param name="output">The summary.</param>
    /// <param name="error">Progress and errors.</param>
    /// <param name="cancellationToken">Stops the import between repositories' transactions.</param>
    /// <param name="input">Where <c>--password-stdin</c> reads the password (standard input when null).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default, TextReader? input = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ImportArguments parsed;
        try
        {
            parsed = ImportArguments.Parse(args);
        }
        catch (ImportUsageException ex)
        {
            await error.WriteLineAsync($"import: {ex.Message}. {UsageText}");
            return Usage;
        }

        try
        {
            await using var app = TrustServerHost.Build([.. parsed.Configuration], CommandLogging);
            app.Services.ValidateOptions();
            return parsed.Command switch
            {
                "notary-db" => await ImportDatabaseAsync(app.Services, parsed, output, error, cancellationToken),
                "notary-server" => await ImportServerAsync(app.Services, parsed, input ?? Console.In, output, error, cancellationToken),
                "bundle" => await ImportBundleAsync(app.Services, parsed, output, error, cancellationToken),
                _ => await ImportSignerKeysAsync(app.Services, parsed, output, error, cancellationToken),
            };
        }
        catch (Exception ex) when (ex is OptionsValidationException or ServerConfigurationException)
        {
            await error.WriteLineAsync(ValidatedOptions.ErrorLine(ex));
            return Failure;
        }
        catch (ArgumentException ex) when (ex.Message.Contains("data source", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("keyword", StringComparison.OrdinalIgnoreCase))
        {
            // A malformed connection string in the configuration (the message names the keyword, not its value).
            await error.WriteLineAsync($"TrustServer: configuration error: {OneLine(ex)}");
            return Failure;
        }
        catch (ImportSourceException ex)
        {
            await error.WriteLineAsync($"import: {ex.Message}");
            return Failure;
        }
        catch (Exception ex) when (StorageErrors.IsDatabaseFailure(ex))
        {
            await error.WriteLineAsync($"import: the destination store failed: {OneLine(ex)}");
            return Failure;
        }
    }

    private static async Task<int> ImportDatabaseAsync(IServiceProvider services, ImportArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!args.DryRun)
        {
            await services.MigrateDatabasesAsync(cancellationToken);
        }

        await using var source = new NotaryDatabaseSource(args.Database!);
        return await RunImportAsync(services, source, args, keysStayWithSource: false, output, error, cancellationToken);
    }

    private static async Task<int> ImportBundleAsync(IServiceProvider services, ImportArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!args.DryRun)
        {
            await services.MigrateDatabasesAsync(cancellationToken);
        }

        // A bundle holds no keys: restored into another deployment, the timestamp key may stay with the exporting one.
        await using var source = new BundleSource(args.BundleFile!);
        return await RunImportAsync(services, source, args, keysStayWithSource: true, output, error, cancellationToken);
    }

    private static async Task<int> ImportServerAsync(IServiceProvider services, ImportArguments args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var credentials = NotaryServerCredentials.None;
        if (args.PasswordStdin)
        {
            var password = await input.ReadLineAsync(cancellationToken);
            if (string.IsNullOrEmpty(password))
            {
                await error.WriteLineAsync("import: --password-stdin: no password on standard input");
                return Usage;
            }

            credentials = new NotaryServerCredentials(args.Username, password, null);
        }
        else if (args.TokenFile is { } tokenFile)
        {
            string token;
            try
            {
                token = (await File.ReadAllTextAsync(tokenFile, cancellationToken)).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"import: --token-file {tokenFile} cannot be read: {ex.Message}");
                return Usage;
            }

            if (token.Length == 0 || token.Any(char.IsWhiteSpace))
            {
                await error.WriteLineAsync($"import: --token-file {tokenFile} holds no single token");
                return Usage;
            }

            credentials = new NotaryServerCredentials(null, null, token);
        }

        if (!args.DryRun)
        {
            await services.MigrateDatabasesAsync(cancellationToken);
        }

        await using var source = new NotaryServerSource(args.Url!, args.CaFile, args.Guns, credentials, SourceTimeout);
        return await RunImportAsync(services, source, args, keysStayWithSource: true, output, error, cancellationToken);
    }

    private static async Task<int> RunImportAsync(
        IServiceProvider services, INotarySource source, ImportArguments args, bool keysStayWithSource, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var time = services.GetRequiredService<TimeProvider>();
        var signer = services.ResolveConfigured<ISigningService>();
        var importer = new NotaryImporter(
            services.GetRequiredService<IMetadataImportWriter>(),
            services.GetRequiredService<IMetadataStore>(),
            new RepositoryVerifier(signer, time, keysStayWithSource),
            error,
            time);
        var options = new ImportRunOptions
        {
            GunPrefix = args.GunPrefix,
            DryRun = args.DryRun,
            BatchRows = args.Batch ?? new ImportRunOptions().BatchRows,
            ChangefeedHeadroom = args.ChangefeedHeadroom ?? new ImportRunOptions().ChangefeedHeadroom,
        };
        var report = await importer.RunAsync(source, DestinationOf(services), options, cancellationToken);
        await output.WriteLineAsync(report.ToSummary());
        if (args.ReportFile is { } file)
        {
            await File.WriteAllTextAsync(file, report.ToJson(), cancellationToken);
            await output.WriteLineAsync($"report written to {file}");
        }

        return report.Succeeded ? Success : Failure;
    }

    private static async Task<int> ImportSignerKeysAsync(IServiceProvider services, ImportArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var keyStore = services.GetService<KeyStore>();
        if (keyStore is null)
        {
            await error.WriteLineAsync("import: notary-signer-keys writes into the embedded key store, but Signing:Mode is Remote: run it with the signer's key database "
                + "(--Signing:Mode=Embedded --ConnectionStrings:Keys=…) or point TrustServer.Signer at the notary-signer database");
            return Usage;
        }

        if (!args.DryRun)
        {
            await keyStore.MigrateAsync(cancellationToken);
        }

        var keys = await NotarySignerKeysSource.ReadAsync(args.Database!, cancellationToken);
        var result = await keyStore.ImportAsync(keys, args.DryRun, cancellationToken);
        var c = CultureInfo.InvariantCulture;
        await output.WriteLineAsync(string.Create(c, $"{(args.DryRun ? "Dry run (nothing written)" : "Import")} of notary-signer keys from {args.Database!.Description}"));
        foreach (var conflict in result.Conflicts)
        {
            await output.WriteLineAsync($"  conflict: {conflict}");
        }

        var unusable = 0;
        foreach (var key in keys.Where(k => k.DeletedAt is null))
        {
            var problem = keyStore.CheckUsable(key);
            if (problem is not null)
            {
                unusable++;
                await output.WriteLineAsync($"  UNUSABLE {key.KeyId} ({key.Gun} {key.Role}, passphrase alias {key.PassphraseAlias}): {problem}");
            }
        }

        await output.WriteLineAsync(string.Create(c, $"{keys.Count} keys: {result.Added} added, {result.Skipped} already present, {result.Conflicts.Count} conflicts, {unusable} not usable with this process's passphrases"));
        return result.Conflicts.Count == 0 && unusable == 0 ? Success : Failure;
    }

    private static string DestinationOf(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider + " metadata store";

    /// <summary>An exception's innermost message on one line, for one-line command errors.</summary>
    internal static string OneLine(Exception ex) =>
        string.Join(' ', ex.GetBaseException().Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
