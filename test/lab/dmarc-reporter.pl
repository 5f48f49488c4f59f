#!/usr/bin/perl
# The lab's receivers as DMARC aggregate reporters, with Mail::DMARC (Debian's
# libmail-dmarc-perl). Run by dmarc-reporter.ts inside a mount namespace whose
# /etc/resolv.conf is the lab resolver's, one reporter per argument:
#
#   perl dmarc-reporter.pl <state>/etc/mail-dmarc/gmail.test.ini ...
#
# Each reporter (a provider: gmail.test, outlook.test, yahoo.test) is one
# mail-dmarc.ini; its [lab] section says where its mailboxes are. For every
# message delivered there since the last run, the reporter takes what the lab's
# receiving checks wrote at delivery (the client address in the MX's Received
# header, pyspf's and OpenDKIM's Authentication-Results), lets Mail::DMARC
# evaluate DMARC (policy from DNS, alignment) and stores the result in its SQLite
# report store. Then it ends the open reporting periods now and sends every due
# report with Mail::DMARC's own sender (dmarc_send_reports): gzipped XML over
# SMTP to the MX of each rua address, from the receiver's own address.
#
# Prints one JSON line per reporter: {"reporter","recorded","skipped","errors","sent","failed"}.
use strict;
use warnings;

use Config::Tiny;
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use JSON::PP;
use Mail::DMARC::PurePerl;
use Mail::DMARC::Report;
use Mail::DMARC::Report::Aggregate::Record;
use Mail::DMARC::Report::Store::SQL;
use Mail::DMARC::Report::Sender;

$| = 1;

die "usage: $0 <mail-dmarc.ini>...\n" if !@ARGV;

my $failures = 0;
for my $ini (@ARGV) {
    # Mail::DMARC reads its configuration from one file per process: a child per reporter.
    my $pid = fork // die "fork: $!\n";
    if ( $pid == 0 ) {
        $ENV{MAIL_DMARC_CONFIG_FILE} = $ini;
        my $ok = eval { report($ini); 1 };
        if ( !$ok ) {
            print STDERR "dmarc-reporter: $ini: $@";
            exit 1;
        }
        exit 0;
    }
    waitpid $pid, 0;
    $failures++ if $? != 0;
}
exit( $failures ? 1 : 0 );

sub report {
    my ($ini) = @_;
    my $config = Config::Tiny->read($ini) or die Config::Tiny->errstr . "\n";
    my $lab    = $config->{lab} or die "no [lab] section\n";
    my $name   = $config->{organization}{domain};
    make_path( dirname( $lab->{seen} ) );

    my ( $recorded, $skipped, $errors, $last_saved ) = record( $lab, $name );
    my ( $sent, $failed ) = send_due( $lab, $last_saved );
    print encode_json( { reporter => $name, recorded => $recorded, skipped => $skipped, errors => $errors, sent => $sent, failed => $failed } ), "\n";
    return;
}

# ---- recording what the receivers saw ----

sub record {
    my ( $lab, $name ) = @_;
    my %seen;
    if ( open my $fh, '<', $lab->{seen} ) {
        while ( my $line = <$fh> ) { chomp $line; $seen{$line} = 1 }
        close $fh;
    }
    open my $seen_out, '>>', $lab->{seen} or die "$lab->{seen}: $!\n";
    $seen_out->autoflush(1);

    my ( $recorded, $skipped, $errors, $last_saved ) = ( 0, 0, 0, 0 );
    for my $message ( delivered_messages( $lab->{maildir} ) ) {
        next if $seen{ $message->{key} };
        my $outcome = eval { record_one( $message, $lab ) };
        if ( !defined $outcome ) {
            # Left for the next run to try again.
            my $error = $@ || 'unknown error';
            chomp $error;
            print STDERR "dmarc-reporter: $name: $message->{path}: $error\n";
            $errors++;
            next;
        }
        if   ($outcome) { $recorded++; $last_saved = time }
        else            { $skipped++ }
        # Once looked at, never again: a message is recorded at most once.
        print {$seen_out} "$message->{key}\n";
    }
    close $seen_out;
    return ( $recorded, $skipped, $errors, $last_saved );
}

# Every message file in the reporter's Maildirs: <maildir>/<user>/Maildir/{,.<folder>/}{new,cur}/*.
sub delivered_messages {
    my ($root) = @_;
    my @messages;
    return @messages if !-d $root;
    opendir my $users, $root or die "$root: $!\n";
    for my $user ( sort grep { !/^\./ } readdir $users ) {
        my $maildir = "$root/$user/Maildir";
        next if !-d $maildir;
        opendir my $dir, $maildir or next;
        my @folders = ( [ 'INBOX', $maildir ], map { [ substr( $_, 1 ), "$maildir/$_" ] } grep { /^\.[^.]/ && -d "$maildir/$_" } readdir $dir );
        closedir $dir;
        for my $folder (@folders) {
            my ( $folder_name, $path ) = @$folder;
            for my $sub (qw(new cur)) {
                opendir my $files, "$path/$sub" or next;
                for my $file ( sort grep { !/^\./ } readdir $files ) {
                    # The unique part of a Maildir name (flags follow ':'); with the user, it stays when flags change or the message moves.
                    my ($unique) = split /:/, $file, 2;
                    push @messages, { key => "$user/$unique", path => "$path/$sub/$file", user => $user, folder => $folder_name };
                }
                closedir $files;
            }
        }
    }
    closedir $users;
    return @messages;
}

sub read_headers {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my @headers;
    while ( my $line = <$fh> ) {
        $line =~ s/\r?\n\z//;
        last if $line eq '';
        if ( $line =~ /^[ \t]/ && @headers ) { $headers[-1][1] .= " $line"; next }
        my ( $field, $value ) = $line =~ /^([^:\s]+):\s*(.*)\z/ or next;
        push @headers, [ lc $field, $value ];
    }
    close $fh;
    return \@headers;
}

sub values_of {
    my ( $headers, $field ) = @_;
    return map { $_->[1] } grep { $_->[0] eq $field } @$headers;
}

sub domain_of {
    my ($address) = @_;
    return '' if !defined $address;
    my ($domain) = $address =~ /\@([A-Za-z0-9.-]+)/;
    return lc( $domain // '' );
}

# RFC 8601 comments (nested parentheses, quoted strings left alone) removed.
sub strip_comments {
    my ($value) = @_;
    my ( $out, $depth, $quoted ) = ( '', 0, 0 );
    for my $char ( split //, $value ) {
        if ($quoted) { $out .= $char; $quoted = 0 if $char eq '"'; next }
        if ( $char eq '"' && !$depth ) { $quoted = 1; $out .= $char; next }
        if ( $char eq '(' ) { $depth++; next }
        if ( $char eq ')' && $depth ) { $depth--; next }
        $out .= $char if !$depth;
    }
    return $out;
}

# The results in the Authentication-Results headers this lab's receivers wrote:
# a list of { method, result, props => { 'header.d' => ..., ... } }.
sub lab_results {
    my ( $headers, $authserv_id ) = @_;
    my @results;
    for my $value ( values_of( $headers, 'authentication-results' ) ) {
        my ( $id, @resinfos ) = split /;/, strip_comments($value);
        next if !defined $id || lc( $id =~ s/^\s+|\s+\z//gr ) ne lc $authserv_id;
        for my $resinfo (@resinfos) {
            my ( $method_result, @props ) = split ' ', $resinfo;
            next if !$method_result;
            my ( $method, $result ) = split /=/, $method_result, 2;
            next if !defined $result;
            my %props = map { my ( $k, $v ) = split /=/, $_, 2; ( lc $k => $v // '' ) } @props;
            push @results, { method => lc $method, result => lc $result, props => \%props };
        }
    }
    return @results;
}

sub record_one {
    my ( $message, $lab ) = @_;
    my $headers = read_headers( $message->{path} );

    # The client as the provider's MX saw it: "Received: from helo (name [ip]) by mx.gmail.test (Postfix) ...".
    my ($received) = grep { /\bby\s+\Q$lab->{mx}\E\s/i } values_of( $headers, 'received' );
    return 0 if !$received;
    my ($source_ip) = $received =~ /\[([0-9A-Fa-f.:]+)\]/;
    return 0 if !$source_ip;

    my @results = lab_results( $headers, $lab->{authserv_id} );
    my ($spf) = grep { $_->{method} eq 'spf' } @results;
    return 0 if !$spf;    # not through this lab's receiving checks

    my ($from) = values_of( $headers, 'from' );
    my $header_from = domain_of($from) or return 0;
    my ($return_path) = values_of( $headers, 'return-path' );
    my $envelope_from = domain_of($return_path);

    my @dkim = map {
        {
            domain       => lc $_->{props}{'header.d'},
            selector     => $_->{props}{'header.s'} // '',
            result       => $_->{result},
            human_result => $_->{result},
        }
    } grep { $_->{method} eq 'dkim' && $_->{props}{'header.d'} } @results;

    my ( $spf_scope, $spf_identity ) = $spf->{props}{'smtp.mailfrom'} ? ( 'mfrom', $spf->{props}{'smtp.mailfrom'} ) : ( 'helo', $spf->{props}{'smtp.helo'} // '' );
    $spf_identity =~ s/^.*\@//;

    my $dmarc = Mail::DMARC::PurePerl->new(
        source_ip     => $source_ip,
        envelope_to   => $lab->{domain},
        envelope_from => $envelope_from,
        header_from   => $header_from,
        dkim          => \@dkim,
        spf           => { domain => lc $spf_identity, scope => $spf_scope, result => $spf->{result} },
    );
    # An empty list leaves Mail::DMARC 1.20211209 with no list at all, and saving then dies
    # ("dkim argument not a ref"): give it the empty list itself.
    $dmarc->{dkim} = [] if !@dkim;
    my $result = $dmarc->validate();

    # The disposition this receiver applied: the lab rejects nothing for DMARC (OpenDMARC
    # RejectFailures false); what its Sieve filed in Junk was quarantined.
    if ( ( $result->disposition // 'none' ) ne 'none' ) {
        my $applied = $message->{folder} eq 'Junk' ? 'quarantine' : 'none';
        if ( $applied ne $result->disposition ) {
            $result->disposition($applied);
            $result->reason( type => 'local_policy', comment => "lab receiver: delivered to $message->{folder}" );
        }
    }
    # No DMARC record, or no reporting address: nothing to report (Mail::DMARC saves nothing).
    return $dmarc->save_aggregate() ? 1 : 0;
}

# ---- one record per distinct row, identifiers and results ----

# Mail::DMARC 1.20211209 groups a report's messages by source IP, disposition and the DKIM
# and SPF verdicts alone, and gives each group the identifiers and auth results of its first
# message: mail from news.sender.test would be counted under sender.test, or under another
# DKIM domain. A record is one combination of all of them (RFC 7489's schema), as here.
BEGIN {
    no warnings 'redefine';
    *Mail::DMARC::Report::Store::SQL::populate_agg_records = sub {
        my ( $self, $agg_ref, $rid ) = @_;
        my $json = JSON::PP->new->canonical;
        my ( @order, %records );
        for my $rec ( @{ $self->query( $self->grammar->select_rr_query, [$rid] ) } ) {
            my $ip = $self->grammar->language eq 'postgresql' ? $rec->{source_ip} : $self->any_inet_ntop( $rec->{source_ip} );
            my %identifiers = map { ( $_ => $rec->{$_} ) } qw(header_from envelope_from envelope_to);
            my %auth        = ( spf => $self->get_row_spf( $rec->{id} ), dkim => $self->get_row_dkim( $rec->{id} ) );
            my %reasons     = map { ( $_->{type} => $_->{comment} ) } grep { $_->{type} } @{ $self->get_row_reason( $rec->{id} ) };
            my %evaluated   = map { ( $_ => $rec->{$_} ) } qw(disposition dkim spf);
            my $key         = $json->encode( [ $ip, \%evaluated, \%identifiers, \%auth, \%reasons ] );
            push @order, $key if !$records{$key};
            $records{$key} ||= { ip => $ip, evaluated => \%evaluated, identifiers => \%identifiers, auth => \%auth, reasons => \%reasons, count => 0 };
            $records{$key}{count}++;
        }
        for my $key (@order) {
            my $r = $records{$key};
            $$agg_ref->record(
                Mail::DMARC::Report::Aggregate::Record->new(
                    identifiers  => $r->{identifiers},
                    auth_results => $r->{auth},
                    row          => {
                        source_ip        => $r->{ip},
                        count            => $r->{count},
                        policy_evaluated => {
                            %{ $r->{evaluated} },
                            %{ $r->{reasons} } ? ( reason => [ map { { type => $_, comment => $r->{reasons}{$_} } } sort keys %{ $r->{reasons} } ] ) : (),
                        },
                    },
                )
            );
        }
        return $$agg_ref->record;
    };
}

# ---- ending the periods and sending ----

sub send_due {
    my ( $lab, $last_saved ) = @_;
    my $report = Mail::DMARC::Report->new;
    my $store  = $report->store->backend;

    # Reports cover the policy's interval (a UTC day by default) and are due once it
    # has ended. The lab reports now: every open period ends at the last whole second
    # (after the last recorded message), and starts after the previous one ended.
    sleep 1 while time <= $last_saved;
    my $end          = time - 1;
    my $closed_file  = "$lab->{seen}.closed";
    my $closed_until = 0;
    if ( open my $fh, '<', $closed_file ) { $closed_until = ( <$fh> // 0 ) + 0; close $fh }
    if ( $end <= $closed_until ) {
        sleep 1 while time <= $closed_until + 1;
        $end = time - 1;
    }
    # (DBI binds text, and SQLite orders any text after any number: hence the casts.)
    $store->db_connect->query( 'UPDATE report SET begin = MAX(begin, CAST(? AS INTEGER)), end = CAST(? AS INTEGER) WHERE end > CAST(? AS INTEGER)', $closed_until + 1, $end, $end )
        or die DBIx::Simple->error . "\n";
    open my $out, '>', $closed_file or die "$closed_file: $!\n";
    print {$out} "$end\n";
    close $out;

    # Mail::DMARC's own sender (what dmarc_send_reports runs), without its pause between reports.
    my ( $sent, $failed ) = ( 0, 0 );
    no warnings 'redefine';
    my $email = \&Mail::DMARC::Report::Sender::email;
    local *Mail::DMARC::Report::Sender::email = sub {
        my $ok = $email->(@_);
        $ok ? $sent++ : $failed++;
        return $ok;
    };
    local @ARGV = ( '--delay=0', '--verbose' );
    my $sender = Mail::DMARC::Report::Sender->new;
    $sender->set_transports_object( LabTransports->new( $lab->{address} ) );
    $sender->run;
    return ( $sent, $failed );
}

# Mail::DMARC's direct delivery (the MX of the rua domain, port 25, STARTTLS when offered),
# leaving from the receiver's own address as a provider's outbound mail would.
package LabTransports;

use Email::Sender::Transport::SMTP;

sub new {
    my ( $class, $address ) = @_;
    return bless { address => $address }, $class;
}

sub get_transports_for {
    my ( $self, $args ) = @_;
    my $smtp  = $args->{report}->sendit->smtp;
    my @hosts = $smtp->get_smtp_hosts( $args->{to} );
    $args->{log_data}{smtp_host} = join ',', @hosts;
    return Email::Sender::Transport::SMTP->new(
        {
            hosts     => \@hosts,
            port      => 25,
            ssl       => 'maybestarttls',
            helo      => $smtp->get_helo_hostname,
            localaddr => $self->{address},
            timeout   => 32,
        }
    );
}
