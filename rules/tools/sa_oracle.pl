#!/usr/bin/perl
# sa_oracle.pl - run SpamAssassin (Debian package, local tests only, no
# Bayes, no AWL) over message files named on stdin and print one line per
# message: "path<TAB>score<TAB>is_spam<TAB>RULE,RULE,...".
# Used to measure hamlet's verdict agreement with `spamassassin -L`.
use strict;
use warnings;
use Mail::SpamAssassin;

my $sa = Mail::SpamAssassin->new({
	rules_filename => '/usr/share/spamassassin',
	site_rules_filename => '/etc/spamassassin',
	userprefs_filename => '/dev/null',
	local_tests_only => 1,
	dont_copy_prefs => 1,
	post_config_text => "use_bayes 0\nbayes_auto_learn 0\nuse_auto_whitelist 0\n",
});
$sa->compile_now(0);
while (my $path = <STDIN>) {
	chomp $path;
	next unless length $path;
	open(my $fh, '<', $path) or next;
	binmode $fh;
	my @lines = <$fh>;
	close $fh;
	my $m = $sa->parse(\@lines);
	my $st = $sa->check($m);
	my $tests = $st->get_names_of_tests_hit();
	printf "%s\t%.3f\t%d\t%s\n", $path, $st->get_score(),
	    $st->is_spam() ? 1 : 0, $tests;
	$st->finish();
	$m->finish();
}
