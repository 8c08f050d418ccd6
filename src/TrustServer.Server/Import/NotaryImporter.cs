using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using TrustServer.Data;
using TrustServer.Data.Import;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Import;

/// <summary>Settings of one import run.</summary>
public sealed record ImportRunOptions
{
    /// <summary>Only repositories whose GUN starts with this (all when null).</summary>
    public string? GunPrefix { get; init; }

    /// <summary>Check and verify everything, write nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>Rows read from the source per round trip (whole repositories; a larger one is read alone).</summary>
    public int BatchRows { get; init; } = 2000;

    /// <summary>
    /// Changefeed ids left free above the source's highest id for writes that reach the source after this run
    /// (imported by the next run with their own ids): this server's own records start above them.
    /// </summary>
    public long ChangefeedHeadroom { get; init; } = 100_000;
}

/// <summary>
/// Runs an import (issue 14): reads every repository of an <see cref="INotarySource"/>, checks its rows (valid role
/// names, parseable metadata whose version is the row's, SHA-256 of the bytes), writes each repository in one
/// transaction through <see cref="IMetadataImportWriter"/> (skipping identical rows, refusing conflicting ones) and
/// verifies what the server will serve with <see cref="RepositoryVerifier"/>. Progress goes to
/// <paramref name="progress"/> (stderr), at most once a second.
/// </summary>
public sealed class NotaryImporter(IMetadataImportWriter writer, IMetadataStore store, RepositoryVerifier verifier, TextWriter progress, TimeProvider timeProvider)
{
    /// <summary>Imports (or, in a dry run, checks) everything <paramref name="source"/> holds.</summary>
    /// <exception cref="ImportSourceException">The source cannot be read.</exception>
    public async Task<ImportReport> RunAsync(INotarySource source, string destination, ImportRunOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var report = new ImportReport { Source = source.Description, Destination = destination, DryRun = options.DryRun, StartedAt = timeProvider.GetUtcNow() };
        var clock = Stopwatch.StartNew();
        var inventory = await source.OpenAsync(options.GunPrefix, cancellationToken).ConfigureAwait(false);
        report.Notes.AddRange(inventory.Notes);
        if (!options.DryRun)
        {
            // Before writing: this server's own records (a live server during a re-run) never take an imported id.
            await writer.ReserveChangeIdsAsync(inventory.HighestChangeId, options.ChangefeedHeadroom, cancellationToken).ConfigureAwait(false);
        }

        // A dry run against a destination without the schema yet compares with nothing: everything would be added.
        var compare = !options.DryRun || await store.IsOperationalAsync(cancellationToken).ConfigureAwait(false);
        if (!compare)
        {
            report.Notes.Add("the destination has no schema yet (run `migrate` or a real import): rows were not compared with it");
        }

        var meter = new ProgressMeter(progress, inventory.TotalRows, inventory.Guns.Count, clock);
        var highestImported = 0L;
        await foreach (var repository in source.ReadAsync(inventory.Guns, Math.Max(1, options.BatchRows), cancellationToken).ConfigureAwait(false))
        {
            var gun = await ImportOneAsync(repository, options.DryRun, compare, cancellationToken).ConfigureAwait(false);
            report.Guns.Add(gun);
            highestImported = Math.Max(highestImported, repository.Changes.Select(c => c.Id).DefaultIfEmpty().Max());
            report.Rows += repository.Files.Count + repository.Changes.Count;
            meter.Advance(report.Rows, report.Guns.Count);
        }

        if (!options.DryRun && highestImported > inventory.HighestChangeId)
        {
            // The source grew while this run read it.
            await writer.ReserveChangeIdsAsync(highestImported, options.ChangefeedHeadroom, cancellationToken).ConfigureAwait(false);
        }

        report.Seconds = clock.Elapsed.TotalSeconds;
        meter.Finish(report.Rows, report.Guns.Count);
        return report;
    }

    private async Task<GunReport> ImportOneAsync(SourceRepository repository, bool dryRun, bool compare, CancellationToken cancellationToken)
    {
        var report = new GunReport(repository.Gun);
        report.Problems.AddRange(repository.Problems);
        report.Problems.AddRange(CheckRows(repository));
        if (report.Problems.Count > 0)
        {
            report.Status = GunStatus.Failed;
            return report;
        }

        var result = compare
            ? await writer.ImportAsync(repository.Gun, repository.Files, repository.Changes, dryRun, cancellationToken).ConfigureAwait(false)
            : new GunImportResult(repository.Gun, repository.Files.Count, 0, 0, repository.Changes.Count, 0, [], DryRun: true);
        report.Conflicts.AddRange(result.Conflicts.Select(c => c.Detail));
        report.Written = result.Succeeded && !dryRun;
        (report.FilesAdded, report.FilesSkipped, report.FilesRemoved, report.ChangesAdded, report.ChangesSkipped) =
            (result.FilesAdded, result.FilesSkipped, result.FilesRemoved, result.ChangesAdded, result.ChangesSkipped);
        if (report.Written)
        {
            await verifier.VerifyStoredAsync(report, store, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await verifier.VerifySourceAsync(report, repository, cancellationToken).ConfigureAwait(false);
        }

        if (repository.Files.Count > 0 && report.Chain.Count == 0 && report.Findings.Count == 0)
        {
            report.Findings.Add(new(Tuf.Validation.FindingSeverity.Error, RoleName.Timestamp, "no timestamp is stored: the repository has no current metadata"));
        }

        report.Status = !result.Succeeded ? GunStatus.Failed
            : repository.Files.Count == 0 ? GunStatus.Deleted
            : report.Findings.Any(f => f.Severity == Tuf.Validation.FindingSeverity.Error) ? GunStatus.Broken
            : report.Findings.Any(f => f.Severity == Tuf.Validation.FindingSeverity.Warning) ? GunStatus.Warning
            : GunStatus.Ok;
        return report;
    }

    /// <summary>Row checks independent of the source: role names, parseable metadata of the row's version, SHA-256.</summary>
    public static IEnumerable<RowProblem> CheckRows(SourceRepository repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        foreach (var file in repository.Files)
        {
            var row = repository.RowNames?.GetValueOrDefault((file.Role, file.Version)) is { } name
                ? $"{name} ({file.Role} version {file.Version})"
                : $"{file.Role} version {file.Version}";
            if (!RoleName.IsValid(file.Role))
            {
                yield return new RowProblem(row, $"'{file.Role}' is not a valid role name");
                continue;
            }

            var actual = Convert.ToHexStringLower(SHA256.HashData(file.Data));
            if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            {
                yield return new RowProblem(row, $"recorded sha256 {file.Sha256} but the bytes hash to {actual}");
            }

            string? problem;
            try
            {
                var envelope = SignedEnvelope.Parse(file.Data);
                problem = envelope.Version == file.Version ? null : $"the row's version is {file.Version} but the file says {envelope.Version}";
            }
            catch (TufFormatException ex)
            {
                problem = $"not valid TUF metadata: {ex.Message}";
            }

            if (problem is not null)
            {
                yield return new RowProblem(row, problem);
            }
        }

        foreach (var change in repository.Changes)
        {
            if (change.Category is not ("update" or "deletion"))
            {
                yield return new RowProblem($"changefeed id {change.Id}", $"unknown category '{change.Category}'");
            }
        }
    }

    // "import: 12000/100000 rows (12%), 340/1000 repositories, 8123 rows/s" on stderr, at most once a second.
    private sealed class ProgressMeter(TextWriter output, long totalRows, int totalGuns, Stopwatch clock)
    {
        private TimeSpan _last = TimeSpan.Zero;

        public void Advance(long rows, int guns)
        {
            if (clock.Elapsed - _last >= TimeSpan.FromSeconds(1))
            {
                _last = clock.Elapsed;
                Write(rows, guns);
            }
        }

        public void Finish(long rows, int guns) => Write(rows, guns);

        private void Write(long rows, int guns)
        {
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 0.001);
            var percent = totalRows == 0 ? 100 : 100.0 * rows / totalRows;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"import: {rows}/{totalRows} rows ({percent:0}%), {guns}/{totalGuns} repositories, {rows / seconds:0} rows/s"));
            output.Flush();
        }
    }
}
