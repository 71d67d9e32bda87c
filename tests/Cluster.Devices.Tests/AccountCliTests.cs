using System.Net;
using Cluster.Cli;
using Cluster.Testing;

namespace Cluster.Devices.Tests;

/// <summary>The <c>verify</c>, <c>register</c> and <c>delete-account</c> commands against a real silo, codes read from its development sender.</summary>
[Collection(SharedSilo.Name)]
public sealed class AccountCliTests(SiloFixture fixture)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task VerifyThenRegister_CodeFromSender_AccountRegisteredAndLoginWorks()
    {
        var silo = fixture.Silo;
        var number = TestAccounts.NewAccountId();
        using var verifyOutput = new StringWriter();
        using var registerOutput = new StringWriter();
        using var error = new StringWriter();

        // --server before the command (as the usage's Options section reads) and after it.
        var verified = await CliApplication.RunAsync(["--server", silo.BaseAddress.ToString(), "verify", number], verifyOutput, error, Cancel);
        var registered = await CliApplication.RunAsync(["register", number, TestAccounts.SentCode(number), "--server", silo.BaseAddress.ToString()], registerOutput, error, Cancel);

        Assert.Equal(ExitCodes.Success, verified);
        Assert.Equal(ExitCodes.Success, registered);
        var password = registerOutput.ToString().Split('\n').Single(l => l.StartsWith("Password: ", StringComparison.Ordinal))["Password: ".Length..].Trim();
        using var http = silo.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = TestDevice.BasicAuth($"{number}.1", password);
        using var devices = await http.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, devices.StatusCode);
    }

    [Fact]
    public async Task Register_WrongCode_FailureAndNothingRegistered()
    {
        var silo = fixture.Silo;
        var number = TestAccounts.NewAccountId();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await CliApplication.RunAsync(["register", number, "000000", "--server", silo.BaseAddress.ToString()], output, error, Cancel);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains("invalid_code", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAccount_PrimaryPassword_LoginRefusedAfterwards()
    {
        var silo = fixture.Silo;
        var device = await TestAccounts.RegisterAsync(silo);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var wrong = await CliApplication.RunAsync(["delete-account", device.AccountId, "not-the-password-at-all", "--server", silo.BaseAddress.ToString()], output, error, Cancel);
        var deleted = await CliApplication.RunAsync(["delete-account", device.AccountId, device.Password, "--server", silo.BaseAddress.ToString()], output, error, Cancel);

        Assert.Equal(ExitCodes.Failure, wrong);
        Assert.Equal(ExitCodes.Success, deleted);
        using var http = device.CreateClient(silo);
        using var devices = await http.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, devices.StatusCode);
    }

    [Fact]
    public async Task RegistrationLockThenNewPhone_WithoutPinRefusedWithPinMovedAndOldLoginRefused()
    {
        var silo = fixture.Silo;
        var server = silo.BaseAddress.ToString();
        var number = TestAccounts.NewAccountId();
        using var error = new StringWriter();
        var (_, oldPassword) = await RegisterAsync(number, server, error);
        using var lockOutput = new StringWriter();

        var locked = await CliApplication.RunAsync(["registration-lock", "set", "2468", "--login", $"{number}.1", "--password", oldPassword, "--server", server], lockOutput, error, Cancel);
        var (refusedExit, refusedOutput) = await RegisterAsync(number, server, error);
        var (movedExit, newPassword) = await RegisterAsync(number, server, error, "--pin", "2468");

        Assert.Equal(ExitCodes.Success, locked);
        Assert.DoesNotContain("2468", lockOutput.ToString(), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, refusedExit);
        Assert.Contains("registration lock", refusedOutput, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, movedExit);
        using var oldLogin = silo.CreateHttpClient();
        oldLogin.DefaultRequestHeaders.Authorization = TestDevice.BasicAuth($"{number}.1", oldPassword);
        using var refused = await oldLogin.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var newLogin = silo.CreateHttpClient();
        newLogin.DefaultRequestHeaders.Authorization = TestDevice.BasicAuth($"{number}.1", newPassword);
        using var devices = await newLogin.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, devices.StatusCode);
        using var removeOutput = new StringWriter();
        Assert.Equal(ExitCodes.Success, await CliApplication.RunAsync(["registration-lock", "remove", "--login", $"{number}.1", "--password", newPassword, "--server", server], removeOutput, error, Cancel));
    }

    [Fact]
    public async Task RegistrationLock_WithoutLogin_UsageError()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await CliApplication.RunAsync(["registration-lock", "set", "2468"], output, error, Cancel);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("--login and --password", error.ToString(), StringComparison.Ordinal);
    }

    // verify, then register with the code the development sender wrote: the exit code and the password printed (or,
    // on failure, the whole output).
    private static async Task<(int ExitCode, string PasswordOrOutput)> RegisterAsync(string number, string server, StringWriter error, params string[] more)
    {
        using var verifyOutput = new StringWriter();
        using var output = new StringWriter();
        Assert.Equal(ExitCodes.Success, await CliApplication.RunAsync(["verify", number, "--server", server], verifyOutput, error, Cancel));
        var exitCode = await CliApplication.RunAsync(["register", number, TestAccounts.SentCode(number), "--server", server, .. more], output, error, Cancel);
        var password = output.ToString().Split('\n').SingleOrDefault(l => l.StartsWith("Password: ", StringComparison.Ordinal))?["Password: ".Length..].Trim();
        return (exitCode, password ?? output.ToString());
    }
}
