using System.Globalization;

namespace TrustServer.Server.Import;

/// <summary>A wrong <c>import</c> command line; the message is one line and names no secret.</summary>
public sealed class ImportUsageException(string message) : Exception(message);

/// <summary>The parsed command line of <see cref="ImportCommand"/>.</summary>
internal sealed class ImportArguments
{
    public required string Command { get; init; }

    public NotaryDatabase? Database { get; private set; }

    public string? GunPrefix { get; private set; }

    public bool DryRun { get; private set; }

    public string? ReportFile { get; private set; }

    public int? Batch { get; private set; }

    public long? ChangefeedHeadroom { get; private set; }

    /// <summary><c>bundle</c>: the bundle file written by <c>export</c>.</summary>
    public string? BundleFile { get; private set; }

    /// <summary><c>notary-server</c>: the server's base URL.</summary>
    public Uri? Url { get; private set; }

    /// <summary><c>notary-server</c>: PEM CA certificates to trust instead of the system's.</summary>
    public string? CaFile { get; private set; }

    /// <summary><c>notary-server</c>: the repositories (empty: all the global changefeed shows).</summary>
    public List<string> Guns { get; } = [];

    /// <summary><c>notary-server</c>: user for the token realm; the password comes from stdin.</summary>
    public string? Username { get; private set; }

    /// <summary><c>notary-server</c>: whether the password is read from stdin.</summary>
    public bool PasswordStdin { get; private set; }

    /// <summary><c>notary-server</c>: a file holding a bearer token.</summary>
    public string? TokenFile { get; private set; }

    /// <summary>
    /// A host setting passed through to the configuration (<c>--Section:Key=value</c> or <c>--Section:Key value</c>,
    /// as for the server itself): adds it to <paramref name="configuration"/>, advancing <paramref name="index"/> past
    /// a separate value, and returns true; false when <c>args[index]</c> is not one.
    /// </summary>
    internal static bool TakeSetting(string[] args, ref int index, List<string> configuration)
    {
        var arg = args[index];
        if (!arg.StartsWith("--", StringComparison.Ordinal) || !arg.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        configuration.Add(arg);
        if (!arg.Contains('=', StringComparison.Ordinal) && index + 1 < args.Length)
        {
            configuration.Add(args[++index]);
        }

        return true;
    }

    /// <summary>Arguments passed on to the host's configuration (<c>--Section:Key=value</c> or <c>--Section:Key value</c>).</summary>
    public List<string> Configuration { get; } = [];

    public static ImportArguments Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("notary-db" or "notary-signer-keys" or "notary-server" or "bundle"))
        {
            throw new ImportUsageException(args.Length == 0 ? "no import source given" : $"unknown import source '{args[0]}'");
        }

        var parsed = new ImportArguments { Command = args[0] };
        string? from = null, provider = null;
        var first = 1;
        if (parsed.Command == "bundle")
        {
            parsed.BundleFile = args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal)
                ? args[1]
                : throw new ImportUsageException("import bundle needs the bundle FILE");
            first = 2;
        }

        for (var i = first; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ImportUsageException($"{arg} needs a value");
            switch (arg)
            {
                case "--from" when parsed.Command is "notary-db" or "notary-signer-keys":
                    from = Value();
                    break;
                case "--provider" when parsed.Command is "notary-db" or "notary-signer-keys":
                    provider = Value();
                    break;
                case "--dry-run":
                    parsed.DryRun = true;
                    break;
                case "--gun-prefix" when parsed.Command is "notary-db" or "notary-server" or "bundle":
                    parsed.GunPrefix = Value();
                    break;
                case "--url" when parsed.Command == "notary-server":
                    var url = Value();
                    parsed.Url = Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && string.IsNullOrEmpty(uri.UserInfo)
                        ? uri
                        : throw new ImportUsageException("--url must be an absolute https:// URL without credentials");
                    break;
                case "--ca-file" when parsed.Command == "notary-server":
                    parsed.CaFile = Value();
                    break;
                case "--gun" when parsed.Command == "notary-server":
                    parsed.Guns.Add(Value());
                    break;
                case "--username" when parsed.Command == "notary-server":
                    parsed.Username = Value();
                    break;
                case "--password-stdin" when parsed.Command == "notary-server":
                    parsed.PasswordStdin = true;
                    break;
                case "--token-file" when parsed.Command == "notary-server":
                    parsed.TokenFile = Value();
                    break;
                case "--report" when parsed.Command is "notary-db" or "notary-server" or "bundle":
                    parsed.ReportFile = Value();
                    break;
                case "--batch" when parsed.Command == "notary-db":
                    parsed.Batch = (int)Positive(arg, Value(), int.MaxValue);
                    break;
                case "--changefeed-headroom" when parsed.Command == "notary-db":
                    parsed.ChangefeedHeadroom = Positive(arg, Value(), 1L << 40, allowZero: true);
                    break;
                default:
                    if (TakeSetting(args, ref i, parsed.Configuration))
                    {
                        break;
                    }

                    throw new ImportUsageException($"unknown argument '{arg}' for import {parsed.Command}");
            }
        }

        if (parsed.Command == "bundle")
        {
            return parsed;
        }

        if (parsed.Command == "notary-server")
        {
            if (parsed.Url is null)
            {
                throw new ImportUsageException("--url <https://notary-server> is required");
            }

            if (parsed.TokenFile is not null && (parsed.Username is not null || parsed.PasswordStdin))
            {
                throw new ImportUsageException("--token-file and --username/--password-stdin exclude each other");
            }

            if ((parsed.Username is null) != !parsed.PasswordStdin)
            {
                throw new ImportUsageException("--username and --password-stdin go together");
            }

            return parsed;
        }

        if (string.IsNullOrWhiteSpace(from))
        {
            throw new ImportUsageException("--from <connection string> is required");
        }

        var engine = provider?.ToLowerInvariant() switch
        {
            "postgres" or "postgresql" => NotaryDatabaseProvider.Postgres,
            "mysql" or "mariadb" => NotaryDatabaseProvider.MySql,
            null => throw new ImportUsageException("--provider postgres|mysql is required"),
            _ => throw new ImportUsageException($"--provider must be postgres or mysql, not '{provider}'"),
        };
        try
        {
            parsed.Database = new NotaryDatabase(engine, from);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            // The builders' messages name the offending keyword, never its value.
            throw new ImportUsageException($"--from is not a valid {provider} connection string: {ex.Message.Split('\n')[0].Trim()}");
        }

        return parsed;
    }

    private static long Positive(string name, string value, long max, bool allowZero = false) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= max && (allowZero || number > 0)
            ? number
            : throw new ImportUsageException($"{name} must be a {(allowZero ? "non-negative" : "positive")} integer up to {max}");
}
