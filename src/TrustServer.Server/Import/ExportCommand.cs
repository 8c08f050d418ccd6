using System.Globalization;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Hosting;
using TrustServer.Server.Options;

namespace TrustServer.Server.Import;

/// <summary>
/// The <c>export</c> command of the server host: <c>export --out FILE [--gun-prefix P] [--force]</c> writes the
/// matching repositories of the store the usual settings name into a bundle (<see cref="RepositoryBundle"/>) for
/// <c>import bundle</c>. It writes a temporary file next to FILE and renames it on success (no half-written bundle)
/// and never replaces an existing FILE without <c>--force</c>. Exit codes as <see cref="ImportCommand"/>.
/// </summary>
public static class ExportCommand
{
    private const string UsageText = "usage: export --out FILE [--gun-prefix P] [--force]";

    /// <summary>Runs <c>export …</c> (<paramref name="args"/> without the leading <c>export</c>).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? file = null, prefix = null;
        var force = false;
        var configuration = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--out" or "--gun-prefix" && i + 1 >= args.Length)
            {
                await error.WriteLineAsync($"export: {arg} needs a value. {UsageText}");
                return ImportCommand.Usage;
            }

            switch (arg)
            {
                case "--out":
                    file = args[++i];
                    break;
                case "--gun-prefix":
                    prefix = args[++i];
                    break;
                case "--force":
                    force = true;
                    break;
                case var _ when ImportArguments.TakeSetting(args, ref i, configuration):
                    break;
                default:
                    await error.WriteLineAsync($"export: unknown argument '{arg}'. {UsageText}");
                    return ImportCommand.Usage;
            }
        }

        if (string.IsNullOrWhiteSpace(file))
        {
            await error.WriteLineAsync($"export: --out FILE is required. {UsageText}");
            return ImportCommand.Usage;
        }

        var target = Path.GetFullPath(file);
        if (File.Exists(target) && !force)
        {
            await error.WriteLineAsync($"export: {file} exists: pass --force to replace it");
            return ImportCommand.Failure;
        }

        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using var app = TrustServerHost.Build([.. configuration], ImportCommand.CommandLogging);
            app.Services.ValidateOptions();
            var store = app.Services.GetRequiredService<IMetadataStore>();
            if (!await store.IsOperationalAsync(cancellationToken))
            {
                await error.WriteLineAsync("export: the store has no schema (nothing was ever written to it)");
                return ImportCommand.Failure;
            }

            var exporter = new BundleExporter(app.Services.GetRequiredService<IMetadataCatalog>(), store, app.Services.GetRequiredService<TimeProvider>());
            ExportResult result;
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                result = await exporter.ExportAsync(prefix, stream, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: force);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"exported {result.Repositories} repositories ({result.Files} files, {result.Changes} changefeed records) from the "
                + $"{app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider} metadata store to {file}; digest sha256:{result.Digest}"));
            return ImportCommand.Success;
        }
        catch (Exception ex) when (ex is OptionsValidationException or ServerConfigurationException)
        {
            await error.WriteLineAsync(ValidatedOptions.ErrorLine(ex));
            return ImportCommand.Failure;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException || StorageErrors.IsDatabaseFailure(ex))
        {
            await error.WriteLineAsync($"export: {ImportCommand.OneLine(ex)} (nothing written to {file})");
            return ImportCommand.Failure;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
