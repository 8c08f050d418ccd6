using TrustServer.Server.Options;

namespace TrustServer.Server.Hosting;

/// <summary>
/// <c>Server:SettingsDirectory</c>: settings from a directory of files, one per key — the file name is the key with
/// <c>__</c> for <c>:</c> (<c>Auth__Issuer__Users__admin__PasswordHash</c>), the content its value (a trailing newline is
/// dropped). Made for secrets that an init container or the orchestrator writes as files (Docker and Kubernetes
/// secrets); they override every other source.
/// </summary>
internal static class SettingsDirectory
{
    /// <summary>The configuration key naming the directory.</summary>
    public const string Key = "Server:SettingsDirectory";

    public static WebApplicationBuilder AddSettingsDirectory(this WebApplicationBuilder builder)
    {
        if (builder.Configuration["Server:SettingsDirectory"] is not { Length: > 0 } directory)
        {
            return builder;
        }

        // Fail closed: a configured directory that is not there means settings (credentials) are missing.
        if (!Directory.Exists(directory))
        {
            throw new ServerConfigurationException(
                $"{Key}: directory '{directory}' does not exist or is not readable", new DirectoryNotFoundException(directory));
        }

        builder.Configuration.AddKeyPerFile(Path.GetFullPath(directory), optional: false);
        return builder;
    }
}
