using System.Runtime.InteropServices;

namespace TrustServer.Testing;

/// <summary>
/// SoftHSM2 for tests: one token directory per test process (a temp directory with its own <c>softhsm2.conf</c>,
/// never the system's token directory) holding one freshly initialized token. The configuration is set in this
/// process's native environment before any PKCS#11 module initializes, so in-process hosts and child processes see it.
/// </summary>
public static class SoftHsm
{
    /// <summary>The Debian package of the module and <c>softhsm2-util</c>.</summary>
    public const string DebianPackage = "softhsm2";

    /// <summary>The environment variable SoftHSM2 reads its configuration file from.</summary>
    public const string ConfigVariable = "SOFTHSM2_CONF";

    private static readonly Lazy<TemporaryDirectory> Directory = new(CreateDirectory);

    /// <summary>The PKCS#11 module; fails loudly when SoftHSM2 is not installed.</summary>
    public static string LibraryPath =>
        new[] { "/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so" }
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"libsofthsm2.so not found: install the Debian package {DebianPackage} (apt-get install -y {DebianPackage} opensc)");

    /// <summary>The configuration file of this process's token directory.</summary>
    public static string ConfigFile => Directory.Value.Combine("softhsm2.conf");

    private static readonly SemaphoreSlim TokenGate = new(1, 1);
    private static SoftHsmToken? _token;

    /// <summary>
    /// This test process's token, initialized on first use: SoftHSM2 finds tokens when a process initializes the module,
    /// so every test of the process shares the one token made before that (keys are told apart by their CKA_ID).
    /// </summary>
    public static async Task<SoftHsmToken> TokenAsync()
    {
        await TokenGate.WaitAsync();
        try
        {
            return _token ??= await CreateTokenAsync("trustserver-test");
        }
        finally
        {
            TokenGate.Release();
        }
    }

    // A new token labelled labelPrefix plus a random suffix, with a random user PIN written to a file.
    private static async Task<SoftHsmToken> CreateTokenAsync(string labelPrefix)
    {
        var library = LibraryPath;
        var utility = ExecutableLocator.Find("softhsm2-util")
            ?? throw new InvalidOperationException($"softhsm2-util not found: install the Debian package {DebianPackage}");
        var label = $"{labelPrefix}-{Guid.NewGuid():N}"[..Math.Min(32, labelPrefix.Length + 9)];
        var pin = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var result = await ProcessRunner.RunAsync(
            utility,
            ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", pin + "so"],
            TimeSpan.FromSeconds(30),
            environment: [new(ConfigVariable, ConfigFile)]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"softhsm2-util --init-token failed: {result}");
        }

        var pinFile = Directory.Value.Combine($"{label}.pin");
        await File.WriteAllTextAsync(pinFile, pin + "\n");
        return new SoftHsmToken(library, label, pin, pinFile);
    }

    private static TemporaryDirectory CreateDirectory()
    {
        RemoveLeftovers();
        var directory = new TemporaryDirectory($"softhsm-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(directory.Combine("tokens"));
        File.WriteAllText(
            directory.Combine("softhsm2.conf"),
            $"directories.tokendir = {directory.Combine("tokens")}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");

        // The managed environment is not the native one on Unix: SoftHSM reads getenv().
        Environment.SetEnvironmentVariable(ConfigVariable, directory.Combine("softhsm2.conf"));
        if (!OperatingSystem.IsWindows() && SetNativeEnvironment(ConfigVariable, directory.Combine("softhsm2.conf"), 1) != 0)
        {
            throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => directory.Dispose();
        return directory;
    }

    // Test hosts do not always run ProcessExit handlers: remove the token directories of processes that are gone.
    private static void RemoveLeftovers()
    {
        foreach (var leftover in System.IO.Directory.GetDirectories(Path.GetTempPath(), "softhsm-*-*"))
        {
            var parts = Path.GetFileName(leftover).Split('-');
            if (parts.Length == 3 && int.TryParse(parts[1], out var pid) && !IsRunning(pid))
            {
                try
                {
                    System.IO.Directory.Delete(leftover, recursive: true);
                }
                catch (IOException)
                {
                    // Best effort.
                }
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code in this project; strings are UTF-8 on Unix either way.
    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetNativeEnvironment(string name, string value, int overwrite);
#pragma warning restore SYSLIB1054
}

/// <summary>A fresh SoftHSM2 token: its module, label, user PIN and a file holding the PIN.</summary>
public sealed record SoftHsmToken(string Library, string Label, string Pin, string PinFile)
{
    /// <summary>The configuration that selects this token (<c>Keys:Backend = Pkcs11</c>).</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Keys:Backend", "Pkcs11"),
        new("Keys:Pkcs11:Library", Library),
        new("Keys:Pkcs11:TokenLabel", Label),
        new("Keys:Pkcs11:PinFile", PinFile),
    ];

    /// <inheritdoc />
    public override string ToString() => $"SoftHSM2 token {Label}";
}
